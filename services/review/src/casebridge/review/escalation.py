"""After "not met" (or the outcome): the applicant asks the area's escalation body (the chair
of the CSP, the Police and Crime Commissioner, or an independent chair) to look again, within
the area's window; the body decides within its own deadline, with its own letters and event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.review import EscalationDecided
from casebridge.common.db import utcnow
from casebridge.common.errors import Conflict
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.common.periods import local_date
from casebridge.review import areas, deadlines, letters, threshold
from casebridge.review.applications import check_receipt
from casebridge.review.models import CaseReview, ReviewTransition
from casebridge.review.schemas import Escalation, EscalationDecision
from casebridge.review.visibility import principal_of
from casebridge.review.workflow import TRANSITIONS, Actor, InvalidTransition, spoc_step, transition


class EscalationOutOfTime(Conflict):
    code = "escalation_out_of_time"


async def _entered_state(session: AsyncSession, review: CaseReview) -> datetime:
    """When the review reached its present state (the decision or outcome letter's date)."""
    at = await session.scalar(
        select(ReviewTransition.at)
        .where(ReviewTransition.review_id == review.id, ReviewTransition.to_state == review.state)
        .order_by(ReviewTransition.at.desc())
        .limit(1)
    )
    return at or review.updated_at


async def escalate(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: Escalation
) -> CaseReview:
    """The applicant is dissatisfied with a "not met" decision or with the outcome: the
    request must be received within the area's window after that letter (409 after it)."""
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    if review.state not in TRANSITIONS["escalate"][0]:
        raise InvalidTransition(review, "escalate")
    rules = await areas.rules_for(session, review.area_id)
    now = utcnow()
    received_at, backdated = check_receipt(
        data.received_at, data.backdated_reason, rules=rules, now=now
    )
    since = local_date(await _entered_state(session, review))
    window = rules.escalation.request_within
    last_day = deadlines.due_date(since, window, rules.calendar.subdivision)
    if local_date(received_at) > last_day:
        raise EscalationOutOfTime(
            f"the request was received on {local_date(received_at).isoformat()}; this area's "
            f"procedure allows {window.days} {window.unit.value} days after "
            f"{since.isoformat()}, so until {last_day.isoformat()}"
        )
    review.escalation_of = "threshold" if review.state == "threshold_not_met" else "outcome"
    review.escalation_reason = data.reason
    review.escalation_requested_at = received_at
    actor = Actor.of(principal)
    note = f"{data.reason} (back-dated: {backdated})" if backdated else data.reason
    await transition(session, review, "escalate", actor=actor, reason=note, at=now)
    await deadlines.open_deadline(session, review, "escalation_decision", rules=rules, at=now)
    await letters.issue_letter(session, review, "escalation_received", rules=rules, at=now)
    return review


async def decide_escalation(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: EscalationDecision
) -> CaseReview:
    """The escalation body's decision. Upholding a "not met" request re-decides the threshold
    as met (the review goes ahead to its meeting); otherwise the decision stands and the
    review is closed next, the letter naming the Ombudsman."""
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    if review.state not in TRANSITIONS["decide_escalation"][0]:
        raise InvalidTransition(review, "decide_escalation")
    rules = await areas.rules_for(session, review.area_id)
    now, actor, body = utcnow(), Actor.of(principal), rules.escalation.body
    review.escalation_upheld = data.upheld
    review.escalation_decision = data.reasons
    await deadlines.meet_deadline(session, review, "escalation_decision")
    if review.escalation_of == "threshold" and data.upheld:
        found = await threshold.counting(session, review, rules)
        reasons = f"Re-decided as met by the {body}: {data.reasons}. {found.reasons()}"
        decision = threshold.Decided(True, "escalation", reasons, found, threshold.Tally(0, 0, 0))
        await threshold.decide(
            session, review, decision, rules=rules, actor=actor, at=now, action="decide_escalation"
        )
    else:
        await transition(
            session, review, "decide_escalation", actor=actor, reason=data.reasons, at=now
        )
    event = EscalationDecided(
        review_id=review.id,
        reference=review.reference,
        escalated=review.escalation_of or "outcome",
        body=body,
        body_kind=rules.escalation.kind.value,
        upheld=data.upheld,
        requested_at=review.escalation_requested_at or now,
        decided_at=now,
    )
    outbox.add(session, event, area_id=review.area_id, aggregate_id=review.id)
    await letters.issue_letter(session, review, "escalation_decision", rules=rules, at=now)
    return review
