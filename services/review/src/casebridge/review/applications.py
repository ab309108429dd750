"""Applications for an ASB case review: received (never anonymously) with the date of
receipt every deadline runs from, the complaints relied on, and the behaviour concerned."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.review import ReviewApplied
from casebridge.common.db import utcnow
from casebridge.common.errors import AppError, Conflict, NotFound
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.common.periods import days_back, earliest_start, local_date
from casebridge.review import areas, deadlines, threshold
from casebridge.review.config import AreaRules
from casebridge.review.models import (
    REVIEW_REFERENCE_SEQUENCE,
    CaseReview,
    IndexedComplaint,
    ReviewTransition,
    ReviewVote,
    Trigger,
)
from casebridge.review.schemas import BehaviourChange, ReviewApply
from casebridge.review.visibility import complaint_sight, person_visible, principal_of
from casebridge.review.workflow import (
    SYSTEM,
    TRANSITIONS,
    Actor,
    InvalidTransition,
    spoc_step,
)


class AnonymousApplication(AppError):
    status_code = 409
    code = "anonymous_application_refused"


class UnknownVictim(NotFound):
    code = "person_not_found"


class UnknownComplaints(Conflict):
    code = "unknown_complaints"


class BackdatingRefused(AppError):
    """A receipt date the procedure does not allow: shaped like a request validation error."""

    status_code = 422
    code = "validation_error"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__([{"field": field, "reason": reason}])


class UnknownBehaviour(Conflict):
    code = "unknown_behaviour"


def check_receipt(
    received_at: datetime | None,
    reason: str | None,
    *,
    rules: AreaRules,
    now: datetime,
    field: str = "body.received_at",
) -> tuple[datetime, str | None]:
    """A receipt time as recorded: never in the future; an earlier day than today only with a
    reason and at most the area's `backdating.max_days` back (older history is imported)."""
    if received_at is None:
        return now, None
    if received_at > now + CLOCK_SKEW:
        raise BackdatingRefused(field, "must not be in the future")
    back = days_back(received_at, now)
    if back <= 0:
        return received_at, None
    limit = rules.backdating.max_days
    if back > limit:
        raise BackdatingRefused(
            field,
            f"{back} days back; this area allows at most {limit} (older history comes in "
            "through an import, not this API)",
        )
    if not reason:
        raise BackdatingRefused(
            "body.backdated_reason", "a receipt dated an earlier day needs a reason"
        )
    return received_at, reason


# Clocks differ a little between a SPOC's PC and ours.
CLOCK_SKEW = timedelta(minutes=5)


async def complaints_in_window(
    session: AsyncSession, *, area_id: UUID, person_id: UUID, until: datetime, months: int
) -> list[IndexedComplaint]:
    """The victim's complaints an application received at `until` may rely on: made on a date
    whose six months still hold the application's date (s104(11)(b))."""
    applied_on = local_date(until)
    return list(
        await session.scalars(
            select(IndexedComplaint).where(
                IndexedComplaint.person_id == person_id,
                IndexedComplaint.reported_on >= earliest_start(applied_on, months),
                IndexedComplaint.reported_on <= applied_on,
                IndexedComplaint.area_id == area_id,
            )
        )
    )


async def apply_for_review(
    session: AsyncSession, *, viewer: Viewer, data: ReviewApply
) -> CaseReview:
    """Receive an application from the victim or a representative with consent."""
    principal = principal_of(viewer)
    if data.anonymous:
        raise AnonymousApplication(
            "an ASB case review cannot be applied for anonymously (Anti-social Behaviour, "
            "Crime and Policing Act 2014, s104): the applicant must give a name and a way to "
            "contact them; anonymous complaints may still be logged and counted"
        )
    rules = await areas.rules_for(session, principal.area_id)
    now = utcnow()
    received_at, backdated = check_receipt(
        data.received_at, data.backdated_reason, rules=rules, now=now
    )
    if not await person_visible(session, viewer, data.person_id):
        # Unknown, another area's, or a victim the caller may not know: all the same to it.
        raise UnknownVictim("no complaint log with that id is known to your agency")
    if data.complaint_ids:
        complaint_ids = await _listed_complaints(session, viewer, data.complaint_ids)
    else:
        found = await complaints_in_window(
            session,
            area_id=principal.area_id,
            person_id=data.person_id,
            until=received_at,
            months=rules.statutory.window_months,
        )
        complaint_ids = [c.complaint_id for c in found]
    behaviour = data.behaviour
    if behaviour is not None:
        await _check_behaviour(session, principal, behaviour.complaint_id, data.person_id)
    return await _open_review(
        session,
        area_id=principal.area_id,
        received_by=principal.agency_id,
        now=now,
        received_at=received_at,
        fields={
            "complaints_listed": bool(data.complaint_ids),
            "behaviour_complaint_id": behaviour.complaint_id if behaviour else None,
            "behaviour_note": behaviour.note if behaviour else None,
            "backdated_reason": backdated,
            "backdated_by": principal.subject if backdated else None,
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
    session: AsyncSession, viewer: Viewer, listed: list[UUID]
) -> list[UUID]:
    """Complaints the application names: each must be one the caller may see (an unknown
    one, another area's and one it may not see are all the same to it)."""
    sight = await complaint_sight(session, viewer, listed)
    missing = [str(c) for c in listed if not sight.visible(c)]
    if missing:
        raise UnknownComplaints(
            {"message": "complaints not known in this area", "complaint_ids": missing}
        )
    return list(dict.fromkeys(listed))


async def _check_behaviour(
    session: AsyncSession, principal: Principal, complaint_id: UUID, person_id: UUID | None
) -> None:
    """The complaint naming the behaviour must be known in the area (and be the victim's)."""
    owner = await session.scalar(
        select(IndexedComplaint.person_id).where(
            IndexedComplaint.complaint_id == complaint_id,
            IndexedComplaint.area_id == principal.area_id,
        )
    )
    if owner is None or (person_id is not None and owner != person_id):
        raise UnknownBehaviour(
            f"complaint {complaint_id} is not one of the victim's complaints in this area"
        )


async def change_behaviour(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: BehaviourChange
) -> CaseReview:
    """The SPOC says which behaviour the application concerns, until the threshold is decided;
    not once the panel has started voting on another (its votes would be about something else).
    Acknowledged, it is checked against the statutory rule again."""
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    if review.state not in TRANSITIONS["change_behaviour"][0]:
        raise InvalidTransition(review, "change_behaviour")
    if await session.scalar(select(ReviewVote.agency_id).where(ReviewVote.review_id == review.id)):
        raise BehaviourVotedOn(
            "the panel has started voting on the threshold for the behaviour named before"
        )
    await _check_behaviour(session, principal, data.complaint_id, review.person_id)
    review.behaviour_complaint_id = data.complaint_id
    review.behaviour_note = data.note
    if data.complaint_id not in review.complaint_ids:
        review.complaint_ids = [*review.complaint_ids, data.complaint_id]
    now = utcnow()
    review.updated_at = now
    session.add(
        ReviewTransition(
            review_id=review.id,
            action="change_behaviour",
            from_state=review.state,
            to_state=review.state,
            actor=principal.subject,
            agency_id=principal.agency_id,
            reason=f"the application concerns the behaviour of complaint {data.complaint_id}"
            + (f": {data.note}" if data.note else ""),
            at=now,
        )
    )
    await session.flush()
    if review.state == "acknowledged":
        rules = await areas.rules_for(session, review.area_id)
        actor = Actor.of(principal)
        await threshold.decide_if_statutory(session, review, rules=rules, actor=actor, at=now)
    return review


class BehaviourVotedOn(Conflict):
    code = "behaviour_voted_on"


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
    received_at: datetime | None = None,
) -> CaseReview:
    rules = await areas.rules_for(session, area_id)
    config = await areas.find_config(session, area_id)
    sequence = await session.scalar(REVIEW_REFERENCE_SEQUENCE.next_value())
    received_at = received_at or now
    review = CaseReview(
        reference=f"CR-{rules.code}-{now.year}-{sequence:06d}",
        area_id=area_id,
        config_version=config.version if config else 0,
        received_by_agency_id=received_by or rules.spoc.agency_id or area_id,
        state="received",
        applied_at=received_at,
        recorded_at=now,
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
    await deadlines.open_deadlines(session, review, "receipt", rules=rules)
    event = ReviewApplied(
        review_id=review.id,
        reference=review.reference,
        person_id=review.person_id,
        applicant_kind=review.applicant_kind,
        received_by_agency_id=review.received_by_agency_id,
        complaint_ids=review.complaint_ids,
        trigger_id=review.trigger_id,
        automatic=review.applicant_kind == "automatic",
        applied_at=received_at,
        recorded_at=now,
        backdated=review.backdated_reason is not None,
    )
    outbox.add(session, event, area_id=area_id, aggregate_id=review.id)
    return review
