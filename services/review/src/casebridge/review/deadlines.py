"""Deadlines: each stage's due date in working (or calendar) days, stored with its rule;
the worker raises one overdue event per missed deadline."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from casebridge.common.contracts.review import DeadlineMissed
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.common.periods import local_date
from casebridge.common.worker import PeriodicJob
from casebridge.review.config import (
    DEFAULT_STARTS,
    AreaRules,
    DayUnit,
    StartEvent,
    Subdivision,
    Timescale,
)
from casebridge.review.models import CaseReview, ReviewDeadline, ReviewTransition

log = logging.getLogger(__name__)

SUBDIVISION_NAMES = {Subdivision.ENG: "England", Subdivision.WLS: "Wales"}
START_NAMES: dict[str, str] = {
    "receipt": "receipt of the application",
    "acknowledgement": "the acknowledgement",
    "threshold_decision": "the threshold decision",
    "meeting": "the review meeting",
    "escalation_request": "receipt of the escalation request",
}
# The transitions that mark each start event (the latest one counts).
_START_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "acknowledgement": ("acknowledge",),
    "threshold_decision": ("decide_threshold", "spoc_decision", "decide_escalation"),
    "meeting": ("hold_meeting",),
}


@lru_cache(maxsize=64)
def bank_holidays(subdivision: str, year: int) -> frozenset[date]:
    """Bank holidays of England or Wales: without the subdivision Easter Monday is missing."""
    # holidays.UK is an alias of the "GB" country; typed access goes through the code.
    return frozenset(holidays.country_holidays("GB", subdiv=subdivision, years=year).keys())


def is_working_day(day: date, subdivision: Subdivision) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(subdivision.value, day.year)


def due_date(start: date, timescale: Timescale, subdivision: Subdivision) -> date:
    """`days` after `start` (the start day itself is day 0): working days skip weekends
    and the subdivision's bank holidays (substitute days included)."""
    if timescale.unit is DayUnit.calendar:
        return start + timedelta(days=timescale.days)
    day, counted = start, 0
    while counted < timescale.days:
        day += timedelta(days=1)
        if is_working_day(day, subdivision):
            counted += 1
    return day


def describe(
    start: date, timescale: Timescale, subdivision: Subdivision, starts: str | None = None
) -> str:
    event = f" ({START_NAMES[starts]})" if starts else ""
    if timescale.unit is DayUnit.calendar:
        return f"{timescale.days} calendar days after {start.isoformat()}{event} (Europe/London)"
    return (
        f"{timescale.days} working days after {start.isoformat()}{event} "
        f"(weekends and {SUBDIVISION_NAMES[subdivision]} bank holidays excluded, "
        f"Europe/London)"
    )


async def start_time(
    session: AsyncSession, review: CaseReview, event: StartEvent, at: datetime
) -> datetime:
    """When `event` happened for this review (`at` if it has not yet: it is happening)."""
    if event == "receipt":
        return review.applied_at
    if event == "escalation_request":
        return review.escalation_requested_at or at
    happened = await session.scalar(
        select(ReviewTransition.at)
        .where(
            ReviewTransition.review_id == review.id,
            ReviewTransition.action.in_(_START_TRANSITIONS[event]),
        )
        .order_by(ReviewTransition.at.desc())
        .limit(1)
    )
    return happened or at


async def open_deadlines(
    session: AsyncSession, review: CaseReview, opened_by: StartEvent, *, rules: AreaRules
) -> None:
    """Open every stage `opened_by` makes pending (receipt: acknowledge and decide)."""
    at = review.applied_at if opened_by == "receipt" else utcnow()
    for stage, opener in DEFAULT_STARTS.items():
        if opener == opened_by:
            await open_deadline(session, review, stage, rules=rules, at=at)


async def open_deadline(
    session: AsyncSession, review: CaseReview, stage: str, *, rules: AreaRules, at: datetime
) -> ReviewDeadline:
    """The stage is pending from `at`; its clock starts at the area's start event for it (by
    default `at` itself); the due date and its rule are stored together. A stage pending again
    (a second escalation) gets its deadline anew."""
    timescale: Timescale = getattr(rules.timescales, stage)
    starts = timescale.starts or DEFAULT_STARTS[stage]
    start = local_date(await start_time(session, review, starts, at))
    subdivision = rules.calendar.subdivision
    deadline = await session.scalar(
        select(ReviewDeadline).where(
            ReviewDeadline.review_id == review.id, ReviewDeadline.stage == stage
        )
    )
    if deadline is None:
        deadline = ReviewDeadline(review_id=review.id, area_id=review.area_id, stage=stage)
        session.add(deadline)
    deadline.starts_on = start
    deadline.due_on = due_date(start, timescale, subdivision)
    deadline.rule = describe(start, timescale, subdivision, starts)
    deadline.met_at = None
    deadline.overdue_raised_at = None
    await session.flush()
    return deadline


async def meet_deadline(session: AsyncSession, review: CaseReview, stage: str) -> None:
    deadline = await session.scalar(
        select(ReviewDeadline).where(
            ReviewDeadline.review_id == review.id, ReviewDeadline.stage == stage
        )
    )
    if deadline is not None and deadline.met_at is None:
        deadline.met_at = utcnow()
        await session.flush()


async def raise_overdue(session: AsyncSession, *, today: date, limit: int = 500) -> int:
    """Mark and announce each open deadline whose day has passed, once (SKIP LOCKED lets
    several workers share the job)."""
    rows = (
        await session.execute(
            select(ReviewDeadline, CaseReview.reference)
            .join(CaseReview, CaseReview.id == ReviewDeadline.review_id)
            .where(
                ReviewDeadline.met_at.is_(None),
                ReviewDeadline.overdue_raised_at.is_(None),
                ReviewDeadline.due_on < today,
            )
            .order_by(ReviewDeadline.due_on)
            .limit(limit)
            .with_for_update(of=ReviewDeadline, skip_locked=True)
        )
    ).all()
    now = utcnow()
    for deadline, reference in rows:
        deadline.overdue_raised_at = now
        event = DeadlineMissed(
            review_id=deadline.review_id,
            reference=reference,
            deadline_id=deadline.id,
            stage=deadline.stage,
            due_on=deadline.due_on,
            rule=deadline.rule,
            raised_at=now,
        )
        outbox.add(session, event, area_id=deadline.area_id, aggregate_id=deadline.review_id)
    await session.flush()
    return len(rows)


def deadline_watcher(interval: float) -> PeriodicJob:
    """The worker job: every `interval` seconds, raise what has become overdue."""

    async def watch_deadlines(
        engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            try:
                async with sessionmaker() as session, session.begin():
                    raised = await raise_overdue(session, today=local_date(utcnow()))
                if raised:
                    log.info("raised %d overdue deadlines", raised)
            except Exception as exc:  # the next round retries; the job must not die
                log.warning("deadline watch failed: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    return watch_deadlines
