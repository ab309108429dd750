"""Triggers: the SPOC's list of rules met, and recording the second-report explanation."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from casebridge.common.db import DbSession
from casebridge.common.schemas import Limit
from casebridge.review import triggers
from casebridge.review.models import Trigger
from casebridge.review.routes.common import CanRead, CanWrite, parse_cursor
from casebridge.review.schemas import Explanation, TriggerPage, TriggerRead

router = APIRouter(tags=["triggers"])

Kind = Literal["second_report", "statutory", "community", "hate", "high_risk"]
State = Literal["open", "explained", "review_started"]


@router.get("/triggers", response_model=TriggerPage)
async def list_triggers(
    session: DbSession,
    who: CanRead,
    person_id: UUID | None = None,
    kind: Kind | None = None,
    state: State | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
) -> TriggerPage:
    """Triggers raised in the caller's area, newest first."""
    items, after = await triggers.list_triggers(
        session,
        principal=who,
        person_id=person_id,
        kind=kind,
        state=state,
        cursor=parse_cursor(cursor),
        limit=limit,
    )
    return TriggerPage(
        items=[TriggerRead.model_validate(t) for t in items],
        next_cursor=after.encode() if after else None,
    )


@router.get("/triggers/{trigger_id}", response_model=TriggerRead)
async def get_trigger(trigger_id: UUID, session: DbSession, who: CanRead) -> Trigger:
    return await triggers.get_trigger(session, principal=who, trigger_id=trigger_id)


@router.post("/triggers/{trigger_id}/explained", response_model=TriggerRead)
async def record_explained(
    trigger_id: UUID, session: DbSession, who: CanWrite, data: Explanation | None = None
) -> Trigger:
    """Record that the case review was explained to the victim (second report)."""
    note = data.note if data else None
    return await triggers.record_explained(session, principal=who, trigger_id=trigger_id, note=note)
