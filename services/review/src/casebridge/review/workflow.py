"""The case review's state machine, its history, and who may see a review.

received -> acknowledged -> threshold_met | threshold_not_met -> meeting_scheduled ->
meeting_held -> action_plan_agreed -> outcome_communicated -> accepted | escalated -> closed.
After "not met" (or the outcome) the applicant may escalate: the area's escalation body
decides (escalation_decided, or threshold_met when it upholds a "not met" request).
Every transition is recorded in the history and announced as an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import get_args
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common import access
from casebridge.common.auth import Principal
from casebridge.common.contracts.review import ReviewTransitioned
from casebridge.common.db import utcnow
from casebridge.common.errors import Conflict, Forbidden, NotFound
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.common.pagination import Cursor, page_after
from casebridge.review import areas
from casebridge.review.models import CaseReview, ReviewTransition
from casebridge.review.schemas import ReviewState
from casebridge.review.visibility import Seen, roles_of, seen_reviews, visible_reviews

# action -> (states it may be taken from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"received"}), "acknowledged"),
    "decide_threshold": (frozenset({"acknowledged"}), "threshold_decided"),
    "vote": (frozenset({"acknowledged"}), "acknowledged"),
    "spoc_decision": (frozenset({"acknowledged"}), "threshold_decided"),
    "change_behaviour": (frozenset({"received", "acknowledged"}), "unchanged"),
    "schedule_meeting": (frozenset({"threshold_met", "meeting_scheduled"}), "meeting_scheduled"),
    "hold_meeting": (frozenset({"meeting_scheduled"}), "meeting_held"),
    "agree_action_plan": (frozenset({"meeting_held"}), "action_plan_agreed"),
    "communicate_outcome": (
        frozenset({"action_plan_agreed", "threshold_not_met"}),
        "outcome_communicated",
    ),
    "accept": (frozenset({"outcome_communicated"}), "accepted"),
    "escalate": (frozenset({"threshold_not_met", "outcome_communicated"}), "escalated"),
    "decide_escalation": (frozenset({"escalated"}), "escalation_decided"),
    "close": (
        frozenset(
            {
                "received",
                "acknowledged",
                "threshold_not_met",
                "accepted",
                "escalated",
                "escalation_decided",
            }
        ),
        "closed",
    ),
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


@dataclass(frozen=True)
class Actor:
    """Who made a transition: a member of an agency, or the system itself."""

    subject: str
    agency_id: UUID | None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.subject, principal.agency_id)


SYSTEM = Actor("casebridge-review", None)


async def get_review(
    session: AsyncSession, *, viewer: Viewer, reference: str, lock: bool = False
) -> CaseReview:
    """A review the caller may see (the information-sharing protocol decides); to any other
    caller it does not exist."""
    roles = await roles_of(session, viewer)
    query = visible_reviews(viewer, roles).where(CaseReview.reference == reference)
    review = await session.scalar(query.with_for_update() if lock else query)
    if review is None:
        raise NotFound("case review not found")
    return review


class NotTheSpoc(Forbidden):
    code = "not_the_spoc"


async def spoc_step(session: AsyncSession, *, viewer: Viewer, reference: str) -> CaseReview:
    """A review to run, locked: a SPOC step is taken by the SPOC of the agency the area's
    procedure names as SPOC (a SPOC of any other agency is refused, 403 with the reason); a
    review the caller may not see is not found first."""
    review = await get_review(session, viewer=viewer, reference=reference, lock=True)
    spoc = (await areas.rules_for(session, review.area_id)).spoc
    if spoc.agency_id is None:
        raise NotTheSpoc("the area's procedure names no SPOC agency; ask its administrator")
    if spoc.agency_id != viewer.recipient.agency_id:
        raise NotTheSpoc(
            f"only the SPOC of the agency the area's procedure names ({spoc.agency_id}) "
            "takes this step"
        )
    return review


async def read_review(session: AsyncSession, *, viewer: Viewer, reference: str) -> Seen[CaseReview]:
    review = await get_review(session, viewer=viewer, reference=reference)
    return await see_review(session, viewer, review)


async def see_review(session: AsyncSession, viewer: Viewer, review: CaseReview) -> Seen[CaseReview]:
    (seen,) = await seen_reviews(session, viewer, [review], await roles_of(session, viewer))
    return seen


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


async def list_reviews(
    session: AsyncSession,
    *,
    viewer: Viewer,
    state: str | None,
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[Seen[CaseReview]], Cursor | None]:
    roles = await roles_of(session, viewer)
    query = visible_reviews(viewer, roles)
    if state is not None:
        query = query.where(CaseReview.state == state)
    rows, after = await page_after(
        session, query, CaseReview.applied_at, CaseReview.id, cursor, limit
    )
    return await seen_reviews(session, viewer, rows, roles), after


def shown_part(seen: Seen[CaseReview], part: str) -> CaseReview:
    """The review whose `part` (history, deadlines, letters, counting) the caller may see,
    its read traced; else 404."""
    if not seen.decision.shows(part):
        raise NotFound("case review not found")
    review = seen.record
    access.shown_fields("review", review.id, [part], controllers=[review.received_by_agency_id])
    return review


async def history(
    session: AsyncSession, *, viewer: Viewer, reference: str
) -> list[ReviewTransition]:
    seen = await read_review(session, viewer=viewer, reference=reference)
    review = shown_part(seen, "history")
    return list(
        await session.scalars(
            select(ReviewTransition)
            .where(ReviewTransition.review_id == review.id)
            .order_by(ReviewTransition.at, ReviewTransition.id)
        )
    )
