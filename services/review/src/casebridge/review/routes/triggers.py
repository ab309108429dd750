"""Triggers: the SPOC's list of rules met, and recording the second-report explanation."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from casebridge.common.db import DbSession
from casebridge.common.schemas import Limit
from casebridge.review import triggers
from casebridge.review.presenters import present_trigger, shared_response
from casebridge.review.routes.common import Reads, Writes, parse_cursor
from casebridge.review.schemas import Explanation, TriggerPage, TriggerRead

router = APIRouter(tags=["triggers"])

Kind = Literal["second_report", "statutory", "community", "hate", "high_risk"]
State = Literal["open", "explained", "review_started"]


@router.get("/triggers", response_model=TriggerPage, response_model_exclude_unset=True)
async def list_triggers(
    session: DbSession,
    who: Reads,
    person_id: UUID | None = None,
    kind: Kind | None = None,
    state: State | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
) -> TriggerPage:
    """Triggers raised in the caller's area, newest first."""
    items, after = await triggers.list_triggers(
        session,
        viewer=who,
        person_id=person_id,
        kind=kind,
        state=state,
        cursor=parse_cursor(cursor),
        limit=limit,
    )
    return TriggerPage(
        items=[await present_trigger(session, who, seen) for seen in items],
        next_cursor=after.encode() if after else None,
    )


@router.get("/triggers/{trigger_id}", response_model=TriggerRead, response_model_exclude_unset=True)
async def get_trigger(trigger_id: UUID, session: DbSession, who: Reads) -> TriggerRead:
    """A trigger as the caller may see it (the information-sharing protocol decides)."""
    seen = await triggers.read_trigger(session, viewer=who, trigger_id=trigger_id)
    return await present_trigger(session, who, seen)


@router.post("/triggers/{trigger_id}/explained", response_model=TriggerRead)
async def record_explained(
    trigger_id: UUID, session: DbSession, who: Writes, data: Explanation | None = None
) -> Response:
    """Record that the case review was explained to the victim (second report)."""
    note = data.note if data else None
    await triggers.record_explained(session, viewer=who, trigger_id=trigger_id, note=note)
    seen = await triggers.read_trigger(session, viewer=who, trigger_id=trigger_id)
    return shared_response(await present_trigger(session, who, seen))
