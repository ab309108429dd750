"""Case reviews and triggers: what review announces is kept as facts per review (and per
trigger), merged so that any order of arrival gives the same facts (earliest date wins,
the latest decision stands). The daily counts are DERIVED from the facts: a fact's change
takes its contribution out of one day and puts it into another, so a review is counted
once, however many events it had, and a decision that arrives before its application is
counted as soon as the application is known.

What each published count means is in `CONTRIBUTIONS` below and in docs/stats.md."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.review import (
    DeadlineMissed,
    RecommendationsMade,
    ReviewApplied,
    ReviewTransitioned,
    ThresholdDecided,
    TriggerExplained,
    TriggerRaised,
)
from casebridge.stats.models import Base, DailyCount, ReviewFact, ReviewStage, TriggerFact
from casebridge.stats.periods import local_date
from casebridge.stats.projection import note_area

Contribution = tuple[str, str, date]  # (measure, detail, day)
D = TypeVar("D", bound=date)  # a date or a datetime
F = TypeVar("F", bound=Base)

# Which review stage a transition completes (its deadline is then met, unless overdue).
STAGE_DONE_BY = {
    "acknowledge": "acknowledge",
    "hold_meeting": "meeting",
    "communicate_outcome": "outcome",
}


def _earliest(current: D | None, new: D | None) -> D | None:
    if current is None:
        return new
    if new is None:
        return current
    return min(current, new)


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


async def _move(
    session: AsyncSession, area_id: UUID, before: set[Contribution], after: set[Contribution]
) -> None:
    changes = [(c, -1) for c in before - after] + [(c, 1) for c in after - before]
    for (measure, detail, day), amount in sorted(changes):
        statement = insert(DailyCount).values(
            area_id=area_id, day=day, measure=measure, detail=detail, value=amount
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[
                    DailyCount.area_id,
                    DailyCount.day,
                    DailyCount.measure,
                    DailyCount.detail,
                ],
                set_={"value": DailyCount.value + statement.excluded.value},
            )
        )


async def _locked(
    session: AsyncSession, model: type[F], key: tuple[object, ...], **new: object
) -> F:
    """The fact row, locked for this transaction; created empty if it is the first event."""
    await session.execute(insert(model).values(**new).on_conflict_do_nothing())
    fact = await session.get(model, key, with_for_update=True, populate_existing=True)
    assert fact is not None
    return fact


async def _update(
    session: AsyncSession,
    model: type[F],
    key: tuple[object, ...],
    contributions: Callable[[F], set[Contribution]],
    change: Callable[[F], None],
    **new: object,
) -> None:
    fact = await _locked(session, model, key, **new)
    before = contributions(fact)
    change(fact)
    await session.flush()
    await _move(session, fact.area_id, before, contributions(fact))  # type: ignore[attr-defined]


async def _review(
    session: AsyncSession, area_id: UUID, review_id: UUID, change: Callable[[ReviewFact], None]
) -> None:
    await _update(
        session,
        ReviewFact,
        (review_id,),
        review_contributions,
        change,
        review_id=review_id,
        area_id=area_id,
    )


async def _stage(
    session: AsyncSession,
    area_id: UUID,
    review_id: UUID,
    stage: str,
    change: Callable[[ReviewStage], None],
) -> None:
    await _update(
        session,
        ReviewStage,
        (review_id, stage),
        stage_contributions,
        change,
        review_id=review_id,
        stage=stage,
        area_id=area_id,
    )


async def review_applied(session: AsyncSession, *, area_id: UUID, event: ReviewApplied) -> None:
    """An application counts on the day it was received (Europe/London)."""

    def change(fact: ReviewFact) -> None:
        fact.applied_at = _earliest(fact.applied_at, event.applied_at)
        fact.applied_on = local_date(fact.applied_at) if fact.applied_at else None
        fact.automatic = event.automatic

    await note_area(session, area_id=area_id, reference=event.reference)
    await _review(session, area_id, event.review_id, change)


async def review_transitioned(
    session: AsyncSession, *, area_id: UUID, event: ReviewTransitioned
) -> None:
    day = local_date(event.at)

    def change(fact: ReviewFact) -> None:
        if event.action == "acknowledge":
            fact.acknowledged_at = _earliest(fact.acknowledged_at, event.at)
        elif event.action == "hold_meeting":
            fact.held_on = _earliest(fact.held_on, day)
        elif event.action == "escalate":
            fact.escalated_on = _earliest(fact.escalated_on, day)
        elif event.to_state == "closed":
            fact.closed_on = _earliest(fact.closed_on, day)

    await note_area(session, area_id=area_id, reference=None)
    await _review(session, area_id, event.review_id, change)
    if (stage := STAGE_DONE_BY.get(event.action)) is not None:
        await stage_done(session, area_id=area_id, review_id=event.review_id, stage=stage, on=day)


async def threshold_decided(
    session: AsyncSession, *, area_id: UUID, event: ThresholdDecided
) -> None:
    """Every decision is kept in summary: the first of each kind, and the one that stands
    (the latest; a re-decision after escalation replaces it, and is not counted twice)."""
    day = local_date(event.decided_at)

    def change(fact: ReviewFact) -> None:
        fact.first_decided_at = _earliest(fact.first_decided_at, event.decided_at)
        if event.met:
            fact.first_met_on = _earliest(fact.first_met_on, day)
        else:
            fact.first_not_met_on = _earliest(fact.first_not_met_on, day)
        latest = (fact.last_decided_at, fact.last_met)
        if latest[0] is None or (event.decided_at, event.met) > latest:
            fact.last_decided_at, fact.last_met = event.decided_at, event.met

    await note_area(session, area_id=area_id, reference=event.reference)
    await _review(session, area_id, event.review_id, change)
    await stage_done(
        session, area_id=area_id, review_id=event.review_id, stage="threshold_decision", on=day
    )


async def recommendations_made(
    session: AsyncSession, *, area_id: UUID, event: RecommendationsMade
) -> None:
    day = local_date(event.agreed_at)

    def change(fact: ReviewFact) -> None:
        fact.recommended_on = _earliest(fact.recommended_on, day)
        fact.recommendations = max(fact.recommendations or 0, event.recommendations)

    await note_area(session, area_id=area_id, reference=event.reference)
    await _review(session, area_id, event.review_id, change)


async def stage_done(
    session: AsyncSession, *, area_id: UUID, review_id: UUID, stage: str, on: date
) -> None:
    def change(fact: ReviewStage) -> None:
        fact.done_on = _earliest(fact.done_on, on)

    await _stage(session, area_id, review_id, stage, change)


async def deadline_missed(session: AsyncSession, *, area_id: UUID, event: DeadlineMissed) -> None:
    day = local_date(event.raised_at)

    def change(fact: ReviewStage) -> None:
        fact.missed_on = _earliest(fact.missed_on, day)

    await note_area(session, area_id=area_id, reference=event.reference)
    await _stage(session, area_id, event.review_id, event.stage, change)


async def trigger_raised(session: AsyncSession, *, area_id: UUID, event: TriggerRaised) -> None:
    def change(fact: TriggerFact) -> None:
        fact.kind = event.kind
        fact.raised_on = _earliest(fact.raised_on, local_date(event.raised_at))

    await _trigger(session, area_id, event.trigger_id, change)


async def trigger_explained(
    session: AsyncSession, *, area_id: UUID, event: TriggerExplained
) -> None:
    def change(fact: TriggerFact) -> None:
        fact.explained_on = _earliest(fact.explained_on, local_date(event.explained_at))

    await _trigger(session, area_id, event.trigger_id, change)


async def _trigger(
    session: AsyncSession, area_id: UUID, trigger_id: UUID, change: Callable[[TriggerFact], None]
) -> None:
    await note_area(session, area_id=area_id, reference=None)
    await _update(
        session,
        TriggerFact,
        (trigger_id,),
        trigger_contributions,
        change,
        trigger_id=trigger_id,
        area_id=area_id,
    )


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
