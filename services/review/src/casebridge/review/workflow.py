"""The case review's state machine, the application, and who may see a review.

received -> acknowledged -> threshold_met | threshold_not_met -> meeting_scheduled ->
meeting_held -> action_plan_agreed -> outcome_communicated -> accepted | escalated -> closed.
Every transition is recorded in the history and announced as an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.review import ReviewApplied, ReviewTransitioned
from casebridge.common.db import utcnow
from casebridge.common.errors import AppError, Conflict, NotFound
from casebridge.common.events import outbox
from casebridge.review import areas, deadlines
from casebridge.review.dates import add_months
from casebridge.review.models import (
    REVIEW_REFERENCE_SEQUENCE,
    CaseReview,
    IndexedComplaint,
    ReviewTransition,
    Trigger,
)
from casebridge.review.pagination import Cursor, page_after
from casebridge.review.schemas import ReviewApply, ReviewState

# action -> (states it may be taken from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"received"}), "acknowledged"),
    "decide_threshold": (frozenset({"acknowledged"}), "threshold_decided"),
    "vote": (frozenset({"acknowledged"}), "acknowledged"),
    "schedule_meeting": (frozenset({"threshold_met"}), "meeting_scheduled"),
    "hold_meeting": (frozenset({"meeting_scheduled"}), "meeting_held"),
    "agree_action_plan": (frozenset({"meeting_held"}), "action_plan_agreed"),
    "communicate_outcome": (
        frozenset({"action_plan_agreed", "threshold_not_met"}),
        "outcome_communicated",
    ),
    "accept": (frozenset({"outcome_communicated"}), "accepted"),
    "escalate": (frozenset({"outcome_communicated"}), "escalated"),
    "close": (frozenset({"received", "acknowledged", "accepted", "escalated"}), "closed"),
}
STATES: tuple[str, ...] = get_args(ReviewState)


# Taken by the service itself (the statutory rule, or the panel's last vote), never asked for.
INTERNAL_ACTIONS = frozenset({"decide_threshold"})


def allowed_actions(state: str) -> list[str]:
    """The actions a caller may take next from `state`."""
    return [
        action
        for action, (sources, _) in TRANSITIONS.items()
        if state in sources and action not in INTERNAL_ACTIONS
    ]


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, review: CaseReview, action: str) -> None:
        allowed = allowed_actions(review.state)
        super().__init__(
            {
                "message": f"cannot {action.replace('_', ' ')} a review that is {review.state}",
                "state": review.state,
                "action": action,
                "allowed": allowed,
            }
        )


class AnonymousApplication(AppError):
    status_code = 409
    code = "anonymous_application_refused"


class UnknownComplaints(Conflict):
    code = "unknown_complaints"


@dataclass(frozen=True)
class Actor:
    """Who made a transition: a member of an agency, or the system itself."""

    subject: str
    agency_id: UUID | None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.subject, principal.agency_id)


SYSTEM = Actor("casebridge-review", None)


def visible_reviews(principal: Principal) -> Select[CaseReview]:
    """A review is seen only by the agencies of its area (the relevant bodies)."""
    return select(CaseReview).where(CaseReview.area_id == principal.area_id)


async def get_review(
    session: AsyncSession, *, principal: Principal, reference: str, lock: bool = False
) -> CaseReview:
    query = visible_reviews(principal).where(CaseReview.reference == reference)
    review = await session.scalar(query.with_for_update() if lock else query)
    if review is None:
        raise NotFound("case review not found")
    return review


async def transition(
    session: AsyncSession,
    review: CaseReview,
    action: str,
    *,
    actor: Actor,
    to_state: str | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> None:
    """Move the review (409 naming the allowed actions when the action does not apply)."""
    sources, target = TRANSITIONS[action]
    if review.state not in sources:
        raise InvalidTransition(review, action)
    at = at or utcnow()
    source, review.state = review.state, to_state or target
    review.updated_at = at
    if review.state == "closed":
        review.closed_at = at
    session.add(
        ReviewTransition(
            review_id=review.id,
            action=action,
            from_state=source,
            to_state=review.state,
            actor=actor.subject,
            agency_id=actor.agency_id,
            reason=reason,
            at=at,
        )
    )
    await session.flush()
    event = ReviewTransitioned(
        review_id=review.id,
        reference=review.reference,
        action=action,
        from_state=source,
        to_state=review.state,
        agency_id=actor.agency_id,
        at=at,
    )
    outbox.add(session, event, area_id=review.area_id, aggregate_id=review.id)


async def complaints_in_window(
    session: AsyncSession, *, area_id: UUID, person_id: UUID, until: datetime, months: int
) -> list[IndexedComplaint]:
    """The victim's complaints the application may rely on (made in the last six months)."""
    return list(
        await session.scalars(
            select(IndexedComplaint).where(
                IndexedComplaint.person_id == person_id,
                IndexedComplaint.reported_at >= add_months(until, -months),
                IndexedComplaint.reported_at <= until,
                IndexedComplaint.area_id == area_id,
            )
        )
    )


async def apply_for_review(
    session: AsyncSession, *, principal: Principal, data: ReviewApply
) -> CaseReview:
    """Receive an application from the victim or a representative with consent."""
    if data.anonymous:
        raise AnonymousApplication(
            "an ASB case review cannot be applied for anonymously (Anti-social Behaviour, "
            "Crime and Policing Act 2014, s104): the applicant must give a name and a way to "
            "contact them; anonymous complaints may still be logged and counted"
        )
    rules = await areas.rules_for(session, principal.area_id)
    now = utcnow()
    if data.complaint_ids:
        complaint_ids = await _listed_complaints(session, principal, data.complaint_ids)
    else:
        found = await complaints_in_window(
            session,
            area_id=principal.area_id,
            person_id=data.person_id,
            until=now,
            months=rules.statutory.window_months,
        )
        complaint_ids = [c.complaint_id for c in found]
    return await _open_review(
        session,
        area_id=principal.area_id,
        received_by=principal.agency_id,
        now=now,
        fields={
            "person_id": data.person_id,
            "applicant_kind": data.applicant_kind,
            "applicant_name": data.applicant_name,
            "applicant_contact": data.applicant_contact,
            "relationship": data.relationship,
            "consent_recorded": data.victim_consent,
            "summary": data.summary,
            "complaint_ids": complaint_ids,
        },
        actor=Actor.of(principal),
    )


async def _listed_complaints(
    session: AsyncSession, principal: Principal, listed: list[UUID]
) -> list[UUID]:
    known = set(
        await session.scalars(
            select(IndexedComplaint.complaint_id).where(
                IndexedComplaint.complaint_id.in_(listed),
                IndexedComplaint.area_id == principal.area_id,
            )
        )
    )
    missing = [str(c) for c in listed if c not in known]
    if missing:
        raise UnknownComplaints(
            {"message": "complaints not known in this area", "complaint_ids": missing}
        )
    return list(dict.fromkeys(listed))


async def start_from_trigger(session: AsyncSession, *, trigger: Trigger) -> CaseReview:
    """The 2023 Action Plan: start the review as soon as the threshold is hit."""
    review = await _open_review(
        session,
        area_id=trigger.area_id,
        received_by=None,
        now=utcnow(),
        fields={
            "person_id": trigger.person_id,
            "applicant_kind": "automatic",
            "applicant_name": "the victim",
            "applicant_contact": "via the SPOC",
            "relationship": None,
            "consent_recorded": False,
            "summary": f"Started automatically: {trigger.detail.get('rule', trigger.kind)}",
            "complaint_ids": list(trigger.complaint_ids),
            "trigger_id": trigger.id,
        },
        actor=SYSTEM,
    )
    trigger.review_id = review.id
    trigger.state = "review_started"
    await session.flush()
    return review


async def _open_review(
    session: AsyncSession,
    *,
    area_id: UUID,
    received_by: UUID | None,
    now: datetime,
    fields: dict[str, Any],
    actor: Actor,
) -> CaseReview:
    rules = await areas.rules_for(session, area_id)
    config = await areas.find_config(session, area_id)
    sequence = await session.scalar(REVIEW_REFERENCE_SEQUENCE.next_value())
    review = CaseReview(
        reference=f"CR-{rules.code}-{now.year}-{sequence:06d}",
        area_id=area_id,
        config_version=config.version if config else 0,
        received_by_agency_id=received_by or rules.spoc.agency_id or area_id,
        state="received",
        applied_at=now,
        updated_at=now,
        **fields,
    )
    session.add(review)
    await session.flush()
    session.add(
        ReviewTransition(
            review_id=review.id,
            action="apply",
            from_state=None,
            to_state="received",
            actor=actor.subject,
            agency_id=actor.agency_id,
            at=now,
        )
    )
    for stage in ("acknowledge", "threshold_decision"):
        await deadlines.open_deadline(session, review, stage, rules=rules, at=now)
    event = ReviewApplied(
        review_id=review.id,
        reference=review.reference,
        person_id=review.person_id,
        applicant_kind=review.applicant_kind,
        received_by_agency_id=review.received_by_agency_id,
        complaint_ids=review.complaint_ids,
        trigger_id=review.trigger_id,
        automatic=review.applicant_kind == "automatic",
        applied_at=now,
    )
    outbox.add(session, event, area_id=area_id, aggregate_id=review.id)
    return review


async def list_reviews(
    session: AsyncSession,
    *,
    principal: Principal,
    state: str | None,
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[CaseReview], Cursor | None]:
    query = visible_reviews(principal)
    if state is not None:
        query = query.where(CaseReview.state == state)
    return await page_after(session, query, CaseReview.applied_at, CaseReview.id, cursor, limit)


async def history(
    session: AsyncSession, *, principal: Principal, reference: str
) -> list[ReviewTransition]:
    review = await get_review(session, principal=principal, reference=reference)
    return list(
        await session.scalars(
            select(ReviewTransition)
            .where(ReviewTransition.review_id == review.id)
            .order_by(ReviewTransition.at, ReviewTransition.id)
        )
    )
