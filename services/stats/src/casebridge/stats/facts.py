"""Case reviews and triggers in the database: each review event is merged into the facts
of its review (or trigger), under a row lock, and the daily counts follow the facts: a
change takes the fact's contribution out of one day and puts it into another, so a review
is counted once however many events it had, and a decision that arrives before its
application is counted as soon as the application is known. The merging and what a fact
counts for are in `counting`."""

from __future__ import annotations

from collections.abc import Callable
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
from casebridge.stats import counting
from casebridge.stats.counting import Contribution
from casebridge.stats.models import (
    Base,
    DailyCount,
    MonthlyCount,
    ReviewFact,
    ReviewStage,
    TriggerFact,
)
from casebridge.stats.periods import local_date, month_start
from casebridge.stats.projection import note_area

F = TypeVar("F", bound=Base)


async def _move(
    session: AsyncSession, area_id: UUID, before: set[Contribution], after: set[Contribution]
) -> None:
    """Take the fact's old contributions out of their days (and months), add the new ones."""
    changes = [(c, -1) for c in before - after] + [(c, 1) for c in after - before]
    for (measure, detail, day), amount in sorted(changes):
        for model, cell in (
            (DailyCount, {"day": day}),
            (MonthlyCount, {"month": month_start(day)}),
        ):
            statement = insert(model).values(
                area_id=area_id, measure=measure, detail=detail, value=amount, **cell
            )
            keys = [column.name for column in model.__table__.primary_key]
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=keys, set_={"value": model.value + statement.excluded.value}
                )
            )


async def _locked(session: AsyncSession, model: type[F], **new: object) -> F:
    """The fact row, created empty if this is its first event, and locked for this
    transaction: one upsert that touches the row and returns it."""
    key = [column.name for column in model.__table__.primary_key]
    statement = insert(model).values(**new)
    statement = statement.on_conflict_do_update(
        index_elements=key, set_={key[-1]: statement.excluded[key[-1]]}
    )
    found = await session.scalars(
        statement.returning(model), execution_options={"populate_existing": True}
    )
    return found.one()


async def _update(
    session: AsyncSession,
    model: type[F],
    contributions: Callable[[F], set[Contribution]],
    change: Callable[[F], object],
    **new: object,
) -> None:
    fact = await _locked(session, model, **new)
    before = contributions(fact)
    change(fact)
    await session.flush()
    await _move(session, fact.area_id, before, contributions(fact))  # type: ignore[attr-defined]


async def _review(
    session: AsyncSession, area_id: UUID, review_id: UUID, change: Callable[[ReviewFact], object]
) -> None:
    await _update(
        session,
        ReviewFact,
        counting.review_contributions,
        change,
        review_id=review_id,
        area_id=area_id,
    )


async def _stage(
    session: AsyncSession,
    area_id: UUID,
    review_id: UUID,
    stage: str,
    change: Callable[[ReviewStage], object],
) -> None:
    await _update(
        session,
        ReviewStage,
        counting.stage_contributions,
        change,
        review_id=review_id,
        stage=stage,
        area_id=area_id,
    )


async def review_applied(session: AsyncSession, *, area_id: UUID, event: ReviewApplied) -> None:
    await note_area(session, area_id=area_id, reference=event.reference)
    await _review(session, area_id, event.review_id, lambda f: counting.applied(f, event))


async def review_transitioned(
    session: AsyncSession, *, area_id: UUID, event: ReviewTransitioned
) -> None:
    await _review(session, area_id, event.review_id, lambda f: counting.transitioned(f, event))
    if (stage := counting.STAGE_DONE_BY.get(event.action)) is not None:
        on = local_date(event.at)
        await _stage(session, area_id, event.review_id, stage, lambda s: counting.done(s, on))


async def threshold_decided(
    session: AsyncSession, *, area_id: UUID, event: ThresholdDecided
) -> None:
    await _review(session, area_id, event.review_id, lambda f: counting.decided(f, event))
    on = local_date(event.decided_at)
    await _stage(
        session, area_id, event.review_id, "threshold_decision", lambda s: counting.done(s, on)
    )


async def recommendations_made(
    session: AsyncSession, *, area_id: UUID, event: RecommendationsMade
) -> None:
    await _review(session, area_id, event.review_id, lambda f: counting.recommended(f, event))


async def deadline_missed(session: AsyncSession, *, area_id: UUID, event: DeadlineMissed) -> None:
    await _stage(
        session, area_id, event.review_id, event.stage, lambda s: counting.missed(s, event)
    )


async def trigger_raised(session: AsyncSession, *, area_id: UUID, event: TriggerRaised) -> None:
    await _trigger(session, area_id, event.trigger_id, lambda t: counting.raised(t, event))


async def trigger_explained(
    session: AsyncSession, *, area_id: UUID, event: TriggerExplained
) -> None:
    await _trigger(session, area_id, event.trigger_id, lambda t: counting.explained(t, event))


async def _trigger(
    session: AsyncSession, area_id: UUID, trigger_id: UUID, change: Callable[[TriggerFact], object]
) -> None:
    await note_area(session, area_id=area_id, reference=None)
    await _update(
        session,
        TriggerFact,
        counting.trigger_contributions,
        change,
        trigger_id=trigger_id,
        area_id=area_id,
    )
