"""Calendar arithmetic for published figures: every event is counted on its date in
England and Wales (Europe/London), and figures are grouped into financial years (April to
March), quarters of the financial year, calendar years, months, or any date range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from casebridge.common import periods as common_periods

# The day in England and Wales on which a moment happened (00:30 BST on 1 April is 1 April,
# although it is still 31 March in UTC): one definition, the common library's.
from casebridge.common.periods import LONDON as LONDON
from casebridge.common.periods import local_date as local_date

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class PeriodKind(StrEnum):
    financial_year = "financial_year"
    quarter = "quarter"
    calendar_year = "calendar_year"
    month = "month"
    range = "range"


@dataclass(frozen=True, order=True)
class Period:
    """A span of whole days, both ends included."""

    start: date
    end: date
    kind: PeriodKind
    label: str

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def complete_on(self, today: date) -> bool:
        """Every day of the period has passed (figures for it will not grow any more)."""
        return self.end < today

    def describe(self) -> str:
        return f"{_long(self.start)} to {_long(self.end)}"


def today_in_london() -> date:
    return datetime.now(LONDON).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month (calendar-month arithmetic
    is `casebridge.common.periods`')."""
    return common_periods.add_months(month_start(day), months)


def month_end(day: date) -> date:
    return add_months(day, 1) - timedelta(days=1)


def month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(value: str) -> date:
    """`2026-03` -> 1 March 2026 (ValueError otherwise)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError("must be a month written YYYY-MM, e.g. 2026-03")
    return date(int(match.group(1)), int(match.group(2)), 1)


def financial_year(day: date) -> Period:
    """The financial year (1 April to 31 March) holding `day`, labelled `2025-26`."""
    first = day.year if day.month >= 4 else day.year - 1
    return Period(
        date(first, 4, 1),
        date(first + 1, 3, 31),
        PeriodKind.financial_year,
        f"{first}-{(first + 1) % 100:02d}",
    )


def quarter(day: date) -> Period:
    """The quarter of the financial year holding `day`: Q1 is April to June."""
    year = financial_year(day)
    number = (day.month - 4) % 12 // 3 + 1
    start = add_months(year.start, (number - 1) * 3)
    end = add_months(start, 3) - timedelta(days=1)
    return Period(start, end, PeriodKind.quarter, f"{year.label} Q{number}")


def parse_quarter(value: str) -> Period:
    """`2025-26-Q1` -> April to June 2025 (ValueError otherwise)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-Q([1-4])", value)
    if match is None or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError("must be a financial-year quarter written YYYY-YY-Qn, e.g. 2025-26-Q1")
    return quarter(add_months(date(int(match.group(1)), 4, 1), (int(match.group(3)) - 1) * 3))


def calendar_year(day: date) -> Period:
    return Period(
        date(day.year, 1, 1), date(day.year, 12, 31), PeriodKind.calendar_year, str(day.year)
    )


def month(day: date) -> Period:
    start = month_start(day)
    return Period(start, month_end(start), PeriodKind.month, month_label(start))


_OF_KIND = {
    PeriodKind.financial_year: financial_year,
    PeriodKind.quarter: quarter,
    PeriodKind.calendar_year: calendar_year,
    PeriodKind.month: month,
}


def periods_between(kind: PeriodKind, first: date, last: date) -> list[Period]:
    """Every period of `kind` that overlaps `first`..`last`, oldest first (a range is the
    range itself)."""
    if kind is PeriodKind.range:
        return [Period(first, last, kind, f"{first.isoformat()} to {last.isoformat()}")]
    found: list[Period] = []
    day = first
    while day <= last:
        period = _OF_KIND[kind](day)
        found.append(period)
        day = period.end + timedelta(days=1)
    return found


def recent(kind: PeriodKind, today: date, count: int) -> list[Period]:
    """The period of `kind` holding `today` and the `count - 1` before it, oldest first."""
    current = _OF_KIND[kind](today)
    periods = [current]
    while len(periods) < count:
        periods.insert(0, _OF_KIND[kind](periods[0].start - timedelta(days=1)))
    return periods


def _long(day: date) -> str:
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"
