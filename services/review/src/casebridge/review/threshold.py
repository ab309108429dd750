"""Deciding the threshold: automatically under the statutory rule (s104(4)), otherwise by the
panel's votes (s104(5)), or by the SPOC when abstentions leave the panel without a quorum."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.review import BehaviourCount, ThresholdDecided
from casebridge.common.db import utcnow
from casebridge.common.errors import Conflict, Forbidden
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.common.periods import earliest_start, local_date
from casebridge.review import areas, deadlines, letters
from casebridge.review.config import AreaRules, MajorityRule
from casebridge.review.counting import Counting, count
from casebridge.review.models import CaseReview, IndexedComplaint, ReviewDecision, ReviewVote
from casebridge.review.schemas import SpocDecision, VoteCreate
from casebridge.review.visibility import Seen, complaint_sight, complaints_shown, principal_of
from casebridge.review.workflow import (
    Actor,
    InvalidTransition,
    get_review,
    read_review,
    shown_part,
    spoc_step,
    transition,
)


class AlreadyVoted(Conflict):
    code = "already_voted"


class NotOnPanel(Forbidden):
    code = "not_on_panel"


class PanelCanDecide(Conflict):
    code = "panel_can_decide"


async def considered(session: AsyncSession, review: CaseReview) -> list[IndexedComplaint]:
    """The complaints the application relies on: those it listed, or else the victim's made
    up to its receipt (read again now, so a complaint whose event arrived late still counts)."""
    where: ColumnElement[bool]
    if review.complaints_listed or review.person_id is None:
        where = IndexedComplaint.complaint_id.in_(review.complaint_ids)
    else:
        rules = await areas.rules_for(session, review.area_id)
        applied_on = local_date(review.applied_at)
        since = earliest_start(applied_on, rules.statutory.window_months)
        found = (
            (IndexedComplaint.person_id == review.person_id)
            & (IndexedComplaint.area_id == review.area_id)
            & (IndexedComplaint.reported_on >= since)
            & (IndexedComplaint.reported_on <= applied_on)
        )
        where = or_(found, IndexedComplaint.complaint_id.in_(review.complaint_ids))
    query = select(IndexedComplaint).where(where).order_by(IndexedComplaint.reported_at)
    return list(await session.scalars(query))


async def counting(session: AsyncSession, review: CaseReview, rules: AreaRules) -> Counting:
    complaints = await considered(session, review)
    return count(
        complaints,
        applied_on=local_date(review.applied_at),
        concerns=review.behaviour_complaint_id,
        rules=rules,
    )


Outcome = Literal["met", "not_met", "no_quorum"]


@dataclass(frozen=True)
class Tally:
    met: int
    not_met: int
    abstained: int

    def as_json(self) -> dict[str, int]:
        return {"met": self.met, "not_met": self.not_met, "abstained": self.abstained}


def majority(rule: MajorityRule, tally: Tally) -> Outcome | None:
    """The area's majority, over the votes cast: an abstention is not a vote. `required` of
    `of` core partners scales to those still voting (and is always more than half of them);
    met once that many say so, not met once that can no longer happen. With fewer partners
    voting than the quorum (every one abstained, say) the panel cannot decide: the SPOC does.
    """
    voters = rule.of - tally.abstained
    if voters < rule.minimum_votes:
        return "no_quorum"
    required = max(math.ceil(rule.required * voters / rule.of), voters // 2 + 1)
    if tally.met >= required:
        return "met"
    if tally.met + (voters - tally.met - tally.not_met) < required:
        return "not_met"
    return None


async def decide_if_statutory(
    session: AsyncSession, review: CaseReview, *, rules: AreaRules, actor: Actor, at: datetime
) -> bool:
    """s104(4): the threshold MUST be treated as met with enough qualifying complaints about
    the behaviour the application concerns."""
    found = await counting(session, review, rules)
    if not found.met:
        return False
    reasons = (
        f"Met under s104(4): {found.qualifying_incidents} qualifying complaints (made within one "
        f"month of the behaviour and within six months before the application) about the "
        f"behaviour the application concerns; the threshold is {rules.statutory.threshold}. "
        + found.reasons()
    )
    decision = Decided(True, "statutory", reasons, found, Tally(0, 0, 0))
    await decide(session, review, decision, rules=rules, actor=actor, at=at)
    return True


async def vote(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: VoteCreate
) -> CaseReview:
    """A core partner's vote or abstention (each with its reason); the majority rule decides
    as soon as it can."""
    principal = principal_of(viewer)
    review = await get_review(session, viewer=viewer, reference=reference, lock=True)
    rules = await areas.rules_for(session, review.area_id)
    core = {m.agency_id for m in rules.panel.members if m.core}
    if principal.agency_id not in core:  # who may vote before when: 403 before 409
        raise NotOnPanel(f"agency {principal.agency_id} is not a core partner on the panel")
    if review.state != "acknowledged":
        raise InvalidTransition(review, "vote")
    if await session.get(ReviewVote, (review.id, principal.agency_id)) is not None:
        raise AlreadyVoted("this agency has already voted on the threshold")
    now = utcnow()
    session.add(
        ReviewVote(
            review_id=review.id,
            agency_id=principal.agency_id,
            met=None if data.abstain else data.met,
            reason=data.reason,
            voted_by=principal.subject,
            voted_at=now,
        )
    )
    await session.flush()
    votes = await _votes(session, review)
    tally = _tally(votes)
    outcome = majority(rules.panel.majority, tally)
    if outcome in ("met", "not_met"):
        found = await counting(session, review, rules)
        reasons = "; ".join(_vote_line(rules, v) for v in votes) + ". " + found.reasons()
        decision = Decided(outcome == "met", "panel", reasons, found, tally)
        await decide(session, review, decision, rules=rules, actor=Actor.of(principal), at=now)
    return review


async def spoc_decision(
    session: AsyncSession, *, viewer: Viewer, reference: str, data: SpocDecision
) -> CaseReview:
    """When abstentions leave the panel without a quorum, nobody on it decides: the SPOC
    does, with reasons (409 while the panel can still decide)."""
    principal = principal_of(viewer)
    review = await spoc_step(session, viewer=viewer, reference=reference)
    if review.state != "acknowledged":
        raise InvalidTransition(review, "spoc_decision")
    rules = await areas.rules_for(session, review.area_id)
    votes = await _votes(session, review)
    tally = _tally(votes)
    if majority(rules.panel.majority, tally) != "no_quorum":
        raise PanelCanDecide(
            f"the panel can still decide: {tally.met + tally.not_met} vote(s) cast and "
            f"{tally.abstained} abstention(s) of {rules.panel.majority.of}; the SPOC decides "
            f"only when fewer than {rules.panel.majority.minimum_votes} can vote"
        )
    found = await counting(session, review, rules)
    lines = [_vote_line(rules, v) for v in votes]
    reasons = (
        f"Decided by the SPOC, as the panel had no quorum ({'; '.join(lines)}): "
        f"{data.reason}. {found.reasons()}"
    )
    decision = Decided(data.met, "spoc", reasons, found, tally)
    await decide(
        session,
        review,
        decision,
        rules=rules,
        actor=Actor.of(principal),
        at=utcnow(),
        action="spoc_decision",
    )
    return review


async def _votes(session: AsyncSession, review: CaseReview) -> list[ReviewVote]:
    query = select(ReviewVote).where(ReviewVote.review_id == review.id)
    return list(await session.scalars(query.order_by(ReviewVote.voted_at)))


def _tally(votes: list[ReviewVote]) -> Tally:
    met = sum(1 for v in votes if v.met is True)
    not_met = sum(1 for v in votes if v.met is False)
    return Tally(met, not_met, len(votes) - met - not_met)


def _vote_line(rules: AreaRules, vote: ReviewVote) -> str:
    said = {True: "met", False: "not met", None: "abstained"}[vote.met]
    return f"{_agency(rules, vote.agency_id)} ({said}): {vote.reason}"


def _agency(rules: AreaRules, agency_id: UUID) -> str:
    return next((m.name for m in rules.panel.members if m.agency_id == agency_id), "partner")


@dataclass(frozen=True)
class Decided:
    met: bool
    by: str  # statutory | panel | spoc | escalation
    reasons: str
    counting: Counting
    tally: Tally


async def decide(
    session: AsyncSession,
    review: CaseReview,
    decision: Decided,
    *,
    rules: AreaRules,
    actor: Actor,
    at: datetime,
    action: str = "decide_threshold",
) -> None:
    """Record the decision with what it counted, move the review, and tell the applicant."""
    review.threshold_met = decision.met
    review.threshold_automatic = decision.by == "statutory"
    review.threshold_reasons = decision.reasons
    review.complaint_ids = [c.complaint_id for c in decision.counting.complaints]
    abstained = await _abstainers(session, review)
    session.add(
        ReviewDecision(
            review_id=review.id,
            decided_by=decision.by,
            met=decision.met,
            reasons=decision.reasons,
            counting=decision.counting.as_json(),
            votes={**decision.tally.as_json(), "abstained_agencies": [str(a) for a in abstained]},
            actor=actor.subject,
            agency_id=actor.agency_id,
            decided_at=at,
        )
    )
    state = "threshold_met" if decision.met else "threshold_not_met"
    await transition(
        session, review, action, actor=actor, to_state=state, reason=decision.reasons, at=at
    )
    await deadlines.meet_deadline(session, review, "threshold_decision")
    if decision.met:
        await deadlines.open_deadline(session, review, "meeting", rules=rules, at=at)
    outbox.add(
        session,
        _decided_event(review, decision, abstained, at),
        area_id=review.area_id,
        aggregate_id=review.id,
    )
    await letters.issue_letter(session, review, "threshold_decision", rules=rules, at=at)


async def _abstainers(session: AsyncSession, review: CaseReview) -> list[UUID]:
    query = select(ReviewVote.agency_id).where(
        ReviewVote.review_id == review.id, ReviewVote.met.is_(None)
    )
    return list(await session.scalars(query))


def _decided_event(
    review: CaseReview, decision: Decided, abstained: list[UUID], at: datetime
) -> ThresholdDecided:
    found = decision.counting
    behaviours = [
        BehaviourCount(number=b.number, qualifying_incidents=b.qualifying_incidents, met=b.met)
        for b in found.behaviours
        if b.concerned
    ]
    return ThresholdDecided(
        review_id=review.id,
        reference=review.reference,
        met=decision.met,
        automatic=decision.by == "statutory",
        qualifying_incidents=found.qualifying_incidents,
        votes_met=decision.tally.met,
        votes_not_met=decision.tally.not_met,
        decided_at=at,
        decided_by=decision.by,
        votes_abstained=decision.tally.abstained,
        abstained_agency_ids=abstained,
        behaviours=behaviours,
        considered_complaints=len(found.complaints),
        counted_complaint_ids=[c.complaint_id for c in found.complaints if c.counted],
    )


class NotCaughtUp(Conflict):
    code = "not_caught_up"


async def read_counting(
    session: AsyncSession,
    *,
    viewer: Viewer,
    reference: str,
    not_older_than: datetime | None = None,
    changed: list[UUID] | None = None,
) -> dict[str, Any]:
    """What the application counts: as the decision counted it once decided, else as of now.
    With `not_older_than`, answer only once review has applied intake's changes up to that
    time to each complaint in `changed` (409 with Retry-After until then)."""
    seen = await read_review(session, viewer=viewer, reference=reference)
    review = shown_part(seen, "counting")
    rules = await areas.rules_for(session, review.area_id)
    if not_older_than is not None:
        await _caught_up(session, changed or [], not_older_than)
    decision = await session.scalar(
        select(ReviewDecision)
        .where(ReviewDecision.review_id == review.id)
        .order_by(ReviewDecision.decided_at.desc())
        .limit(1)
    )
    body = (
        decision.counting
        if decision is not None
        else (await counting(session, review, rules)).as_json()
    )
    body = await _as_seen(session, viewer, seen, body)
    stamps = [c["as_of"] for c in body["complaints"] if c.get("as_of")]
    return {
        **body,
        "reference": review.reference,
        "decided": decision is not None,
        "decided_by": decision.decided_by if decision is not None else None,
        "intake_as_of": max(stamps) if stamps else None,
    }


async def _as_seen(
    session: AsyncSession, viewer: Viewer, seen: Seen[CaseReview], body: dict[str, Any]
) -> dict[str, Any]:
    """The complaints considered, as far as the caller may see them (the SPOC and the panel
    see every one the review relies on)."""
    ids = [UUID(str(c["complaint_id"])) for c in body["complaints"]]
    shown = set(complaints_shown(seen, ids, await complaint_sight(session, viewer, ids)))
    kept = [c for c, i in zip(body["complaints"], ids, strict=True) if i in shown]
    return {**body, "complaints": kept}


async def _caught_up(session: AsyncSession, changed: list[UUID], since: datetime) -> None:
    rows = await session.execute(
        select(IndexedComplaint.complaint_id, IndexedComplaint.intake_changed_at).where(
            IndexedComplaint.complaint_id.in_(changed)
        )
    )
    seen = {row.complaint_id: row.intake_changed_at for row in rows}
    behind = [
        str(c)
        for c in changed
        if (seen.get(c) or datetime.min.replace(tzinfo=since.tzinfo)) < since
    ]
    if behind:
        raise NotCaughtUp(
            {
                "message": "review has not yet applied intake's changes up to "
                f"{since.isoformat()} to every complaint named",
                "complaint_ids": behind,
            },
            headers={"Retry-After": "1"},
        )
