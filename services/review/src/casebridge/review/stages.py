"""The review's stages after the application, each one transition (see workflow.TRANSITIONS)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.review import ActionSummary, RecommendationsMade
from casebridge.common.db import utcnow
from casebridge.common.errors import Conflict
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.review import applicant, areas, deadlines, letters, threshold
from casebridge.review.models import CaseReview, PlannedAction, ReviewDeadline
from casebridge.review.schemas import (
    ActionPlanCreate,
    Closure,
    MeetingHeld,
    MeetingSchedule,
    Outcome,
)
from casebridge.review.visibility import principal_of
from casebridge.review.workflow import Actor, get_review, spoc_step, transition


class MeetingNotYetHeld(Conflict):
    code = "meeting_not_yet_held"


async def acknowledge(
    session: AsyncSession, *, viewer: Viewer, reference: str
) -> tuple[CaseReview, str]:
    """Acknowledge in writing, with the applicant's access code to follow the review (the
    code is returned once; the letter kept shows it masked); with enough qualifying
    complaints the threshold is met at once."""
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    actor, now = Actor.of(principal), utcnow()
    await transition(session, review, "acknowledge", actor=actor, at=now)
    rules = await areas.rules_for(session, review.area_id)
    await deadlines.meet_deadline(session, review, "acknowledge")
    code = await applicant.issue_code(session, review, actor=actor)
    await letters.issue_letter(
        session, review, "acknowledgement", rules=rules, at=now, access_code=applicant.MASK
    )
    await threshold.decide_if_statutory(session, review, rules=rules, actor=actor, at=now)
    return review, code


async def schedule_meeting(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: MeetingSchedule
) -> CaseReview:
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    await transition(session, review, "schedule_meeting", actor=Actor.of(principal))
    review.meeting_at = data.meeting_at
    await session.flush()
    return review


async def hold_meeting(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: MeetingHeld
) -> CaseReview:
    """The meeting is minuted with what each agency supplied (Schedule 4 para 7), once its
    scheduled time has come (409 before it)."""
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    now = utcnow()
    if review.state == "meeting_scheduled" and review.meeting_at and review.meeting_at > now:
        raise MeetingNotYetHeld(
            f"the meeting is scheduled for {review.meeting_at.isoformat()}: it cannot be "
            "marked held before then (reschedule it if it was brought forward)"
        )
    await transition(session, review, "hold_meeting", actor=Actor.of(principal), at=now)
    review.minutes = data.minutes
    review.information_supplied = {str(k): v for k, v in data.information_supplied.items()}
    await deadlines.meet_deadline(session, review, "meeting")
    rules = await areas.rules_for(session, review.area_id)
    await deadlines.open_deadline(session, review, "outcome", rules=rules, at=now)
    return review


async def agree_action_plan(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: ActionPlanCreate
) -> CaseReview:
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    now = utcnow()
    await transition(session, review, "agree_action_plan", actor=Actor.of(principal), at=now)
    review.lead_agency_id = data.lead_agency_id
    review.recommendations = list(data.recommendations)
    review.victim_consulted = data.victim_consulted
    for action in data.actions:
        session.add(
            PlannedAction(
                review_id=review.id,
                agency_id=action.agency_id,
                description=action.description,
                due_on=action.due_on,
            )
        )
    await session.flush()
    event = RecommendationsMade(
        review_id=review.id,
        reference=review.reference,
        lead_agency_id=data.lead_agency_id,
        recommendations=len(data.recommendations),
        actions=[ActionSummary(agency_id=a.agency_id, due_on=a.due_on) for a in data.actions],
        victim_consulted=data.victim_consulted,
        agreed_at=now,
    )
    outbox.add(session, event, area_id=review.area_id, aggregate_id=review.id)
    return review


async def communicate_outcome(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: Outcome
) -> CaseReview:
    """The applicant is told the outcome in writing."""
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    now = utcnow()
    await transition(session, review, "communicate_outcome", actor=Actor.of(principal), at=now)
    review.outcome = data.outcome
    await deadlines.meet_deadline(session, review, "outcome")
    rules = await areas.rules_for(session, review.area_id)
    await letters.issue_letter(session, review, "outcome", rules=rules, at=now)
    return review


async def accept(session: AsyncSession, *, viewer: Viewer, reference: str) -> CaseReview:
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    await transition(session, review, "accept", actor=Actor.of(principal))
    return review


async def close(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: Closure
) -> CaseReview:
    """Closed with reasons, and the applicant told why (2025 guidance)."""
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    now = utcnow()
    await transition(
        session, review, "close", actor=Actor.of(principal), reason=data.reason, at=now
    )
    review.closure_reason = data.reason
    for deadline in await _open_deadlines(session, review):
        deadline.met_at = now  # a closed review has nothing left to be late for
    rules = await areas.rules_for(session, review.area_id)
    await letters.issue_letter(session, review, "closure", rules=rules, at=now)
    return review


async def _open_deadlines(session: AsyncSession, review: CaseReview) -> list[ReviewDeadline]:
    return list(
        await session.scalars(
            select(ReviewDeadline).where(
                ReviewDeadline.review_id == review.id, ReviewDeadline.met_at.is_(None)
            )
        )
    )


async def status(session: AsyncSession, *, viewer: Viewer, reference: str) -> dict[str, Any]:
    """The applicant's view: the stage, the next deadline and the SPOC; nothing else."""
    review = await get_review(session, viewer=viewer, reference=reference)
    rules = await areas.rules_for(session, review.area_id)
    pending = sorted(await _open_deadlines(session, review), key=lambda d: d.due_on)
    return {
        "reference": review.reference,
        "stage": review.state,
        "threshold_met": review.threshold_met,
        "next_deadline": (
            {"stage": pending[0].stage, "due_on": pending[0].due_on} if pending else None
        ),
        "spoc": rules.spoc.model_dump(exclude={"agency_id"}),
        "escalation_body": rules.escalation.body,
        "ombudsman": rules.ombudsman.name,
    }
