"""How each review event changes the facts of its review (or trigger), and what the facts
count for: pure functions, so the worker, a rebuild and the benchmark count alike.

Every change is order-independent: the earliest date wins, the latest decision stands (ties:
"met" wins), so any order of arrival gives the same facts. What each published count means
is in `review_contributions` and in docs/stats.md."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TypeVar
from uuid import UUID

from casebridge.common.contracts.review import (
    DeadlineMissed,
    RecommendationsMade,
    ReviewApplied,
    ReviewTransitioned,
    ThresholdDecided,
    TriggerExplained,
    TriggerRaised,
)
from casebridge.stats.models import ReviewFact, ReviewStage, TriggerFact
from casebridge.stats.periods import local_date

Contribution = tuple[str, str, date]  # (measure, detail, day)
D = TypeVar("D", bound=date)  # a date or a datetime

# Which review stage a transition completes (its deadline is then met, unless overdue).
STAGE_DONE_BY = {
    "acknowledge": "acknowledge",
    "hold_meeting": "meeting",
    "communicate_outcome": "outcome",
    "decide_escalation": "escalation_decision",  # the escalation body's decision (issue 11)
}


def earliest(current: D | None, new: D | None) -> D | None:
    if current is None:
        return new
    if new is None:
        return current
    return min(current, new)


def applied(fact: ReviewFact, event: ReviewApplied) -> None:
    """An application counts on the day it was received (Europe/London)."""
    fact.applied_at = earliest(fact.applied_at, event.applied_at)
    fact.applied_on = local_date(fact.applied_at) if fact.applied_at else None
    fact.automatic = event.automatic


def transitioned(fact: ReviewFact, event: ReviewTransitioned) -> str | None:
    """Keep the dates the stages were reached; the stage whose deadline this meets, if any."""
    day = local_date(event.at)
    if event.action == "acknowledge":
        fact.acknowledged_at = earliest(fact.acknowledged_at, event.at)
    elif event.action == "hold_meeting":
        fact.held_on = earliest(fact.held_on, day)
    elif event.action == "escalate":
        fact.escalated_on = earliest(fact.escalated_on, day)
    elif event.to_state == "closed":
        fact.closed_on = earliest(fact.closed_on, day)
    return STAGE_DONE_BY.get(event.action)


def decided(fact: ReviewFact, event: ThresholdDecided) -> None:
    """Every decision is kept in summary: the first of each kind, and the one that stands
    (the latest; a re-decision after escalation replaces it, and is not counted twice)."""
    day = local_date(event.decided_at)
    fact.first_decided_at = earliest(fact.first_decided_at, event.decided_at)
    if event.met:
        fact.first_met_on = earliest(fact.first_met_on, day)
    else:
        fact.first_not_met_on = earliest(fact.first_not_met_on, day)
    latest = (fact.last_decided_at, fact.last_met)
    if latest[0] is None or (event.decided_at, event.met) > latest:
        fact.last_decided_at, fact.last_met = event.decided_at, event.met


def recommended(fact: ReviewFact, event: RecommendationsMade) -> None:
    fact.recommended_on = earliest(fact.recommended_on, local_date(event.agreed_at))
    fact.recommendations = max(fact.recommendations or 0, event.recommendations)


def done(stage: ReviewStage, on: date) -> None:
    stage.done_on = earliest(stage.done_on, on)


def missed(stage: ReviewStage, event: DeadlineMissed) -> None:
    stage.missed_on = earliest(stage.missed_on, local_date(event.raised_at))


def raised(trigger: TriggerFact, event: TriggerRaised) -> None:
    trigger.kind = event.kind
    trigger.raised_on = earliest(trigger.raised_on, local_date(event.raised_at))


def explained(trigger: TriggerFact, event: TriggerExplained) -> None:
    trigger.explained_on = earliest(trigger.explained_on, local_date(event.explained_at))


def review_contributions(fact: ReviewFact) -> set[Contribution]:
    """The days one review counts on, per measure (the four statutory counts first)."""
    found: set[Contribution] = set()
    if fact.applied_on is not None:
        found.add(("applications", "", fact.applied_on))
        route = "automatic" if fact.automatic else "applicant"
        found.add(("application_route", route, fact.applied_on))
    if fact.last_met is False and fact.first_not_met_on is not None:
        found.add(("threshold_not_met", "", fact.first_not_met_on))
    if fact.last_met is True and fact.first_met_on is not None:
        found.add(("threshold_met", "", fact.first_met_on))
    if fact.held_on is not None:
        found.add(("carried_out", "", fact.held_on))
        if fact.recommended_on is not None and (fact.recommendations or 0) > 0:
            found.add(("with_recommendations", "", fact.recommended_on))
    if fact.escalated_on is not None:
        found.add(("escalated", "", fact.escalated_on))
    return found


def stage_contributions(stage: ReviewStage) -> set[Contribution]:
    """A deadline counts once it is settled: missed on the day it was announced overdue,
    otherwise met on the day its stage was done."""
    if stage.missed_on is not None:
        return {("deadline_missed", stage.stage, stage.missed_on)}
    if stage.done_on is not None:
        return {("deadline_met", stage.stage, stage.done_on)}
    return set()


def trigger_contributions(trigger: TriggerFact) -> set[Contribution]:
    if trigger.kind is None:
        return set()
    found: set[Contribution] = set()
    if trigger.raised_on is not None:
        found.add(("trigger_raised", trigger.kind, trigger.raised_on))
    if trigger.explained_on is not None:
        found.add(("trigger_explained", trigger.kind, trigger.explained_on))
    return found


def derived(
    reviews: Iterable[ReviewFact], stages: Iterable[ReviewStage], triggers: Iterable[TriggerFact]
) -> dict[tuple[UUID, str, str, date], int]:
    """The daily counts recomputed from the facts alone (what `daily_count` must equal)."""
    found: list[tuple[UUID, set[Contribution]]] = [
        *((r.area_id, review_contributions(r)) for r in reviews),
        *((s.area_id, stage_contributions(s)) for s in stages),
        *((t.area_id, trigger_contributions(t)) for t in triggers),
    ]
    cells: dict[tuple[UUID, str, str, date], int] = {}
    for area_id, contributions in found:
        for measure, detail, day in contributions:
            key = (area_id, measure, detail, day)
            cells[key] = cells.get(key, 0) + 1
    return cells
