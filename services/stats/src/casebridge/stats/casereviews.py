"""The four Case Review counts the law requires every area to publish (Anti-social
Behaviour, Crime and Policing Act 2014, s104(10)), per period, from the daily counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.stats.models import Area
from casebridge.stats.periods import Period, PeriodKind, month_end, periods_between, recent
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


class PeriodTotals:
    """Sums of daily measures per period, (measure, detail) -> value."""

    def __init__(self, totals: dict[tuple[Period, str, str], int]) -> None:
        self._totals = totals

    def total(self, measure: str, period: Period, detail: str = "") -> int:
        return self._totals.get((period, measure, detail), 0)


_PERIOD_TOTALS = """
    SELECT p.i, d.measure, d.detail, sum(d.value)
    FROM unnest(CAST(:starts AS date[]), CAST(:ends AS date[])) WITH ORDINALITY AS p(s, e, i)
    JOIN {table} d ON d.area_id = :area AND d.measure = ANY(CAST(:measures AS varchar[]))
     AND d.{unit} BETWEEN p.s AND p.e AND d.{unit} BETWEEN :first AND :last AND d.value <> 0
    GROUP BY p.i, d.measure, d.detail
"""
BY_MONTH = text(_PERIOD_TOTALS.format(table="monthly_count", unit="month"))
BY_DAY = text(_PERIOD_TOTALS.format(table="daily_count", unit="day"))


async def period_totals(
    session: AsyncSession, *, area_id: UUID, measures: Sequence[str], periods: Sequence[Period]
) -> PeriodTotals:
    """One statement sums every measure over every period in the database, from the monthly
    counts when the periods are whole months (years, quarters, months), else the daily."""
    if not periods:
        return PeriodTotals({})
    whole_months = all(p.start.day == 1 and p.end == month_end(p.end) for p in periods)
    rows = await session.execute(
        BY_MONTH if whole_months else BY_DAY,
        {
            "starts": [p.start for p in periods],
            "ends": [p.end for p in periods],
            "first": min(p.start for p in periods),
            "last": max(p.end for p in periods),
            "area": area_id,
            "measures": list(measures),
        },
    )
    return PeriodTotals({(periods[i - 1], m, d): int(v) for i, m, d, v in rows})


def statutory_counts(series: PeriodTotals, period: Period, today: date) -> CaseReviewCounts:
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
    series = await period_totals(
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
