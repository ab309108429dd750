"""Deciding the threshold: automatic under the statutory rule, otherwise by panel votes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.review import ThresholdDecided
from casebridge.common.db import utcnow
from casebridge.common.errors import Conflict, Forbidden
from casebridge.common.events import outbox
from casebridge.review import areas, deadlines, letters
from casebridge.review.config import AreaRules, MajorityRule
from casebridge.review.dates import add_months
from casebridge.review.models import CaseReview, IndexedComplaint, ReviewVote
from casebridge.review.rules import incidents
from casebridge.review.schemas import VoteCreate
from casebridge.review.workflow import Actor, InvalidTransition, get_review, transition


class AlreadyVoted(Conflict):
    code = "already_voted"


class NotOnPanel(Forbidden):
    code = "not_on_panel"


async def qualifying_incidents(session: AsyncSession, review: CaseReview, rules: AreaRules) -> int:
    """Qualifying complaints made within six months before the application, incidents once."""
    complaints = list(
        await session.scalars(
            select(IndexedComplaint).where(
                IndexedComplaint.complaint_id.in_(review.complaint_ids),
                IndexedComplaint.qualifies.is_(True),
                IndexedComplaint.reported_at
                >= add_months(review.applied_at, -rules.statutory.window_months),
            )
        )
    )
    return incidents(complaints, rules)


def majority(rule: MajorityRule, met: int, not_met: int) -> bool | None:
    """Met once `required` core partners say so; not met once that can no longer happen."""
    if met >= rule.required:
        return True
    if not_met > rule.of - rule.required:
        return False
    return None


async def decide_if_statutory(
    session: AsyncSession, review: CaseReview, *, rules: AreaRules, actor: Actor, at: datetime
) -> bool:
    """s104(6): the threshold MUST be treated as met with enough qualifying complaints."""
    count = await qualifying_incidents(session, review, rules)
    if count < rules.statutory.threshold:
        return False
    reasons = (
        f"{count} qualifying complaints made within one month of the behaviour and within six "
        f"months of the application (statutory threshold: {rules.statutory.threshold})"
    )
    await _decide(
        session,
        review,
        met=True,
        automatic=True,
        reasons=reasons,
        count=count,
        votes=(0, 0),
        rules=rules,
        actor=actor,
        at=at,
    )
    return True


async def vote(
    session: AsyncSession, *, principal: Principal, reference: str, data: VoteCreate
) -> CaseReview:
    """A core partner's vote; the majority rule decides as soon as it can."""
    review = await get_review(session, principal=principal, reference=reference, lock=True)
    if review.state != "acknowledged":
        raise InvalidTransition(review, "vote")
    rules = await areas.rules_for(session, review.area_id)
    core = {m.agency_id for m in rules.panel.members if m.core}
    if principal.agency_id not in core:
        raise NotOnPanel(f"agency {principal.agency_id} is not a core partner on the panel")
    if await session.get(ReviewVote, (review.id, principal.agency_id)) is not None:
        raise AlreadyVoted("this agency has already voted on the threshold")
    now = utcnow()
    session.add(
        ReviewVote(
            review_id=review.id,
            agency_id=principal.agency_id,
            met=data.met,
            reason=data.reason,
            voted_by=principal.subject,
            voted_at=now,
        )
    )
    await session.flush()
    votes = list(await session.scalars(select(ReviewVote).where(ReviewVote.review_id == review.id)))
    met = sum(1 for v in votes if v.met)
    decided = majority(rules.panel.majority, met, len(votes) - met)
    if decided is not None:
        reasons = "; ".join(f"{_agency(rules, v.agency_id)}: {v.reason}" for v in votes)
        count = await qualifying_incidents(session, review, rules)
        await _decide(
            session,
            review,
            met=decided,
            automatic=False,
            reasons=reasons,
            count=count,
            votes=(met, len(votes) - met),
            rules=rules,
            actor=Actor.of(principal),
            at=now,
        )
    return review


def _agency(rules: AreaRules, agency_id: UUID) -> str:
    return next((m.name for m in rules.panel.members if m.agency_id == agency_id), "partner")


async def _decide(
    session: AsyncSession,
    review: CaseReview,
    *,
    met: bool,
    automatic: bool,
    reasons: str,
    count: int,
    votes: tuple[int, int],
    rules: AreaRules,
    actor: Actor,
    at: datetime,
) -> None:
    review.threshold_met = met
    review.threshold_automatic = automatic
    review.threshold_reasons = reasons
    state = "threshold_met" if met else "threshold_not_met"
    await transition(
        session, review, "decide_threshold", actor=actor, to_state=state, reason=reasons, at=at
    )
    await deadlines.meet_deadline(session, review, "threshold_decision")
    if met:
        await deadlines.open_deadline(session, review, "meeting", rules=rules, at=at)
    event = ThresholdDecided(
        review_id=review.id,
        reference=review.reference,
        met=met,
        automatic=automatic,
        qualifying_incidents=count,
        votes_met=votes[0],
        votes_not_met=votes[1],
        decided_at=at,
    )
    outbox.add(session, event, area_id=review.area_id, aggregate_id=review.id)
    await letters.issue_letter(session, review, "threshold_decision", rules=rules, at=at)
