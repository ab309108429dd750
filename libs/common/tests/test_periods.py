"""The statutory period rule against two independent calculations, over every day of 2026-2028,
and its named boundaries (month ends, 29 February 2028, the BST/GMT changes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta

from casebridge.common.periods import (
    add_months,
    earliest_start,
    local_date,
    period_end,
    within,
)

FIRST, END = date(2026, 1, 1), date(2029, 1, 1)
DAYS = [FIRST + timedelta(days=n) for n in range((END - FIRST).days)]
MONTHS = (1, 6)


def end_by_relativedelta(start: date, months: int) -> date:
    """dateutil clamps to the month's end: a clamped date means there is no corresponding
    date, and the period ends on that last day; otherwise on the day before."""
    later = start + relativedelta(months=months)
    return later if later.day != start.day else later - timedelta(days=1)


def inside_by_walking(start: date, months: int, day: date) -> bool:
    """Day by day, from first principles: a day is inside while fewer than `months` whole
    calendar months have begun since `start`, or in the last month before the start's day."""
    if day < start:
        return False
    elapsed = (day.year - start.year) * 12 + day.month - start.month
    return elapsed < months or (elapsed == months and day.day < start.day)


@pytest.mark.parametrize("months", MONTHS)
def test_period_end_matches_relativedelta_on_every_day_of_2026_to_2028(months: int) -> None:
    wrong = [d for d in DAYS if period_end(d, months) != end_by_relativedelta(d, months)]
    assert wrong == []


@pytest.mark.parametrize("months", MONTHS)
def test_within_matches_a_day_walk_on_every_day_of_2026_to_2028(months: int) -> None:
    for start in DAYS:
        end = period_end(start, months)
        # the last day in and the first day out, and the walk agrees on both
        assert inside_by_walking(start, months, end), start
        assert not inside_by_walking(start, months, end + timedelta(days=1)), start
        assert within(start, months, end)
        assert not within(start, months, end + timedelta(days=1))
        assert within(start, months, start)
        assert not within(start, months, start - timedelta(days=1))


@pytest.mark.parametrize("months", MONTHS)
def test_earliest_start_is_the_oldest_date_whose_period_still_holds_the_day(months: int) -> None:
    for day in DAYS[200:]:
        first = earliest_start(day, months)
        assert within(first, months, day), day
        assert not within(first - timedelta(days=1), months, day), day


@pytest.mark.parametrize(
    ("start", "months", "last_in"),
    [
        (date(2026, 10, 1), 1, date(2026, 10, 31)),  # the domain's own example
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no 31 February: that month's last day
        (date(2026, 1, 28), 1, date(2026, 2, 27)),  # 28 February exists: the day before
        (date(2026, 1, 29), 1, date(2026, 2, 28)),  # no 29 February in 2026
        (date(2028, 1, 29), 1, date(2028, 2, 28)),  # 29 February 2028 exists
        (date(2028, 1, 30), 1, date(2028, 2, 29)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 1, date(2028, 3, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 14)),  # across the year end
        (date(2026, 10, 1), 6, date(2027, 3, 31)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # six months into a leap February
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 9, 29), 6, date(2028, 3, 28)),
    ],
)
def test_named_boundaries_last_day_in_first_day_out(
    start: date, months: int, last_in: date
) -> None:
    assert period_end(start, months) == last_in
    assert within(start, months, last_in)
    assert not within(start, months, last_in + timedelta(days=1))


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        # BST began at 01:00 UTC on 29 March 2026: 00:30 BST on 1 April is 23:30 UTC 31 March
        (datetime(2026, 3, 31, 23, 30, tzinfo=UTC), date(2026, 4, 1)),
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), date(2026, 3, 29)),  # GMT, just before
        (datetime(2026, 3, 28, 23, 59, tzinfo=UTC), date(2026, 3, 28)),  # GMT: same day
        # GMT returned at 01:00 UTC on 25 October 2026
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25)),  # still BST
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25)),  # GMT again
        (datetime(2028, 2, 28, 23, 59, tzinfo=UTC), date(2028, 2, 28)),  # GMT: UTC's date
    ],
)
def test_local_date_is_the_date_in_london(moment: datetime, day: date) -> None:
    assert local_date(moment) == day


def test_local_date_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="time zone"):
        local_date(datetime(2026, 4, 1, 0, 30))


def test_the_same_dates_give_the_same_answer_whatever_the_hour() -> None:
    """Behaviour late on 1 October BST, complaint early on 31 October (GMT from the 25th):
    in time, although 30 days and some hours in UTC."""
    behaviour = local_date(datetime(2026, 10, 1, 22, 30, tzinfo=UTC))  # 23:30 BST, 1 Oct
    complaint = local_date(datetime(2026, 10, 31, 0, 10, tzinfo=UTC))  # 00:10 GMT, 31 Oct
    late = local_date(datetime(2026, 11, 1, 0, 10, tzinfo=UTC))
    assert within(behaviour, 1, complaint)
    assert not within(behaviour, 1, late)


@pytest.mark.parametrize(
    ("value", "months", "result"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 5, 31), -3, date(2026, 2, 28)),
        (date(2026, 3, 15), -6, date(2025, 9, 15)),
        (datetime(2026, 8, 31, 12, 5, tzinfo=UTC), 6, datetime(2027, 2, 28, 12, 5, tzinfo=UTC)),
    ],
)
def test_add_months_clamps_to_the_months_end(value: date, months: int, result: date) -> None:
    assert add_months(value, months) == result
