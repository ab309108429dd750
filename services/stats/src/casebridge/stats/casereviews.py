"""The four Case Review counts the law requires every area to publish (Anti-social
Behaviour, Crime and Policing Act 2014, s104(10)), per period, from the daily counts."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.stats.models import Area, DailyCount
from casebridge.stats.periods import Period, PeriodKind, periods_between, recent
from casebridge.stats.schemas import AreaRead, CaseReviewCounts, CaseReviewReport

# Field in the published figures -> (measure in daily_count, what it means).
STATUTORY: dict[str, tuple[str, str]] = {
    "applications": (
        "applications",
        "Applications for an ASB Case Review received in the period, counted once each on "
        "the day received (including reviews the partners started themselves when the "
        "threshold was met, as the 2023 ASB Action Plan encourages).",
    ),
    "threshold_not_met": (
        "threshold_not_met",
        "Applications for which the partners decided that the threshold for a review was not "
        "met, counted on the day of that decision. A review is counted once: a decision "
        "confirmed after the applicant asked for it to be looked at again is not counted "
        "twice, and one overturned (threshold met after all) is no longer counted here.",
    ),
    "reviews_carried_out": (
        "carried_out",
        "Case Reviews carried out: reviews whose threshold was met and whose review meeting "
        "was held, counted on the day of the meeting.",
    ),
    "reviews_with_recommendations": (
        "with_recommendations",
        "Case Reviews carried out that resulted in recommendations (an agreed action plan "
        "with at least one recommendation), counted on the day the recommendations were "
        "agreed.",
    ),
}
DEFINITIONS = {name: meaning for name, (_, meaning) in STATUTORY.items()}
DEFAULT_COUNT = {
    PeriodKind.financial_year: 3,
    PeriodKind.calendar_year: 3,
    PeriodKind.quarter: 8,
    PeriodKind.month: 12,
}
MAX_PERIODS = 240


def choose_periods(
    kind: PeriodKind, date_from: date | None, date_to: date | None, today: date
) -> list[Period]:
    """The periods asked for: every period of `kind` overlapping the dates, or the recent
    ones up to `date_to` (by default the current period, marked incomplete)."""
    if date_from is None:
        if kind is PeriodKind.range:
            raise ValueError("a range needs date_from and date_to")
        return recent(kind, date_to or today, DEFAULT_COUNT[kind])
    return periods_between(kind, date_from, date_to or today)


class DailySeries:
    """Daily values per (measure, detail), summed over any period in O(log n)."""

    def __init__(self, cells: Iterable[tuple[str, str, date, int]]) -> None:
        days: dict[tuple[str, str], list[tuple[date, int]]] = defaultdict(list)
        for measure, detail, day, value in sorted(cells):
            days[(measure, detail)].append((day, value))
        self._days = {key: [d for d, _ in rows] for key, rows in days.items()}
        self._sums: dict[tuple[str, str], list[int]] = {}
        for key, rows in days.items():
            running, sums = 0, [0]
            for _, value in rows:
                running += value
                sums.append(running)
            self._sums[key] = sums

    def total(self, measure: str, period: Period, detail: str = "") -> int:
        days = self._days.get((measure, detail))
        if not days:
            return 0
        sums = self._sums[(measure, detail)]
        lo = bisect.bisect_left(days, period.start)
        hi = bisect.bisect_right(days, period.end)
        return sums[hi] - sums[lo]

    def details(self, measure: str) -> list[str]:
        return sorted(d for m, d in self._days if m == measure)


async def daily_series(
    session: AsyncSession, *, area_id: UUID, measures: Sequence[str], periods: Sequence[Period]
) -> DailySeries:
    if not periods:
        return DailySeries([])
    rows = await session.execute(
        select(DailyCount.measure, DailyCount.detail, DailyCount.day, DailyCount.value).where(
            DailyCount.area_id == area_id,
            DailyCount.measure.in_(measures),
            DailyCount.day.between(min(p.start for p in periods), max(p.end for p in periods)),
            DailyCount.value != 0,
        )
    )
    return DailySeries((m, d, day, v) for m, d, day, v in rows)


def statutory_counts(series: DailySeries, period: Period, today: date) -> CaseReviewCounts:
    return CaseReviewCounts(
        period=period.label,
        start=period.start,
        end=period.end,
        complete=period.complete_on(today),
        **{name: series.total(measure, period) for name, (measure, _) in STATUTORY.items()},
    )


async def case_review_report(
    session: AsyncSession, *, area: Area, kind: PeriodKind, periods: list[Period], today: date
) -> CaseReviewReport:
    """The four counts for each period, with what each one means."""
    series = await daily_series(
        session,
        area_id=area.area_id,
        measures=[m for m, _ in STATUTORY.values()],
        periods=periods,
    )
    return CaseReviewReport(
        area=AreaRead(id=area.area_id, code=area.code),
        period_kind=kind,
        definitions=DEFINITIONS,
        rows=[statutory_counts(series, period, today) for period in periods],
    )
