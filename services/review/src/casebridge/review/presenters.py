"""Reviews and triggers to response models: only the fields the caller's information-
sharing decision lets through, and only the complaints and victims it may see."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common import access
from casebridge.common.isp import Viewer
from casebridge.review import workflow
from casebridge.review.models import CaseReview, Trigger
from casebridge.review.schemas import ReviewRead, TriggerRead
from casebridge.review.visibility import Seen, complaint_sight, complaints_shown

REVIEW_FIELDS = tuple(
    name
    for name in ReviewRead.model_fields
    if name not in ("allowed_actions", "redacted_fields", "access_code")
)


TRIGGER_FIELDS = tuple(name for name in TriggerRead.model_fields if name != "redacted_fields")


def shared_response(model: ReviewRead | TriggerRead, status_code: int = 200) -> Response:
    """A field the protocol does not grant is absent, not null."""
    return Response(
        model.model_dump_json(exclude_unset=True),
        status_code=status_code,
        media_type="application/json",
    )


async def present_review(
    session: AsyncSession, viewer: Viewer, seen: Seen[CaseReview]
) -> ReviewRead:
    review = seen.record
    access.shown("review", review.id, seen.decision, controllers=[review.received_by_agency_id])
    values: dict[str, Any] = {name: getattr(review, name) for name in REVIEW_FIELDS}
    shown = seen.decision.project(values)
    if "complaint_ids" in shown:
        sight = await complaint_sight(session, viewer, review.complaint_ids)
        shown["complaint_ids"] = complaints_shown(seen, review.complaint_ids, sight)
    if "state" in shown:
        shown["allowed_actions"] = workflow.allowed_actions(review.state)
    if seen.decision.redacted:
        shown["redacted_fields"] = sorted(seen.decision.redacted)
    return ReviewRead(**shown)


async def present_trigger(
    session: AsyncSession, viewer: Viewer, seen: Seen[Trigger]
) -> TriggerRead:
    trigger = seen.record
    access.shown("trigger", trigger.id, seen.decision)  # controllers: its complaints' agencies
    values: dict[str, Any] = {name: getattr(trigger, name) for name in TRIGGER_FIELDS}
    shown = seen.decision.project(values)
    if "complaint_ids" in shown:
        sight = await complaint_sight(session, viewer, trigger.complaint_ids)
        shown["complaint_ids"] = complaints_shown(seen, trigger.complaint_ids, sight)
    if seen.decision.redacted:
        shown["redacted_fields"] = sorted(seen.decision.redacted)
    return TriggerRead(**shown)
