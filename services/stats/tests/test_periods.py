"""Financial years, quarters and London dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from casebridge.stats.periods import (
    PeriodKind,
    financial_year,
    local_date,
    parse_month,
    parse_quarter,
    periods_between,
    quarter,
    recent,
)


def test_financial_years_run_april_to_march() -> None:
    assert financial_year(date(2026, 3, 31)).label == "2025-26"
    assert financial_year(date(2026, 4, 1)).label == "2026-27"
    assert financial_year(date(1999, 6, 1)).label == "1999-00"
    assert financial_year(date(2026, 4, 1)).describe() == "1 April 2026 to 31 March 2027"


def test_quarters_of_the_financial_year() -> None:
    assert [quarter(date(2026, m, 15)).label for m in (4, 7, 10, 1)] == [
        "2026-27 Q1", "2026-27 Q2", "2026-27 Q3", "2025-26 Q4"
    ]  # fmt: skip
    q4 = quarter(date(2028, 2, 29))
    assert (q4.label, q4.start, q4.end) == ("2027-28 Q4", date(2028, 1, 1), date(2028, 3, 31))
    assert parse_quarter("2025-26-Q3") == quarter(date(2025, 11, 1))


def test_local_dates_follow_bst_and_gmt() -> None:
    assert local_date(datetime(2026, 3, 31, 23, 0, tzinfo=UTC)) == date(2026, 4, 1)  # BST
    assert local_date(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == date(2026, 1, 31)  # GMT
    assert local_date(datetime(2026, 10, 24, 23, 30, tzinfo=UTC)) == date(2026, 10, 25)


def test_periods_between_and_recent() -> None:
    months = periods_between(PeriodKind.month, date(2028, 1, 15), date(2028, 3, 1))
    assert [(m.label, m.end) for m in months] == [
        ("2028-01", date(2028, 1, 31)),
        ("2028-02", date(2028, 2, 29)),
        ("2028-03", date(2028, 3, 31)),
    ]
    years = recent(PeriodKind.financial_year, date(2026, 11, 29), 3)
    assert [y.label for y in years] == ["2024-25", "2025-26", "2026-27"]
    assert [y.complete_on(date(2026, 11, 29)) for y in years] == [True, True, False]


@pytest.mark.parametrize("bad", ["2026-13", "26-01", "2026-1"])
def test_bad_months(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(bad)


@pytest.mark.parametrize("bad", ["2026-Q1", "2026-28-Q1", "2026-27-Q0"])
def test_bad_quarters(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-YY-Qn"):
        parse_quarter(bad)
