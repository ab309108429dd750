"""Statutory periods in calendar dates, and calendar-month arithmetic: the one place for both.

Anti-social Behaviour, Crime and Policing Act 2014, s104(11): a complaint is a "qualifying
complaint" if (a) it is made within the period of ONE MONTH beginning with the date on which
the behaviour is alleged to have occurred, and (b) an application for an ASB case review is
made within the period of SIX MONTHS beginning with the date on which the complaint is made.

Periods are counted in calendar dates in the area's time zone (Europe/London), never as
timestamps: a report at 00:30 BST on 1 April was made on 1 April, though it is 31 March in UTC.
A period of N months "beginning with" a date includes that date and ends on the day before
the corresponding date N months later (behaviour on 1 October: a complaint on 31 October is
in time, one on 1 November is not); where that later month has no corresponding date
(31 January + 1 month), the period ends on that month's last day (28 or 29 February): the
"corresponding date rule" of Dodds v Walker [1981] 1 WLR 1441 (HL).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

# s104(11)(a) and (b).
QUALIFYING_MONTHS = 1
APPLICATION_MONTHS = 6

D = TypeVar("D", date, datetime)


def add_months(value: D, months: int) -> D:
    """The same day `months` later (or earlier, when negative), clamped to the month's last
    day (31 January + 1 = 28 February; 31 May - 3 = 28 February). A datetime keeps its time
    of day and time zone."""
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def local_date(moment: datetime, zone: ZoneInfo = LONDON) -> date:
    """The calendar date on which `moment` happened in the area (Europe/London by default)."""
    if moment.tzinfo is None:
        raise ValueError("a moment without a time zone has no date")
    return moment.astimezone(zone).date()


def period_end(start: date, months: int) -> date:
    """The last day of the period of `months` months beginning with `start` (s104(11)): the
    day before the corresponding date, or the later month's last day when it has none."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    if start.day > last_day:
        return date(year, month + 1, last_day)
    return date(year, month + 1, start.day) - timedelta(days=1)


def within(start: date, months: int, day: date) -> bool:
    """Whether `day` falls in the period of `months` months beginning with `start`."""
    return start <= day <= period_end(start, months)


def earliest_start(day: date, months: int) -> date:
    """The earliest date whose period of `months` months still contains `day`: for an
    application made on `day`, the oldest complaint date that can qualify (s104(11)(b))."""
    # period_end is monotonic in its start (ties at month ends), so walk back from a date
    # that is certainly out of reach; at most four steps.
    candidate = add_months(day, -months) - timedelta(days=1)
    while period_end(candidate, months) < day:
        candidate += timedelta(days=1)
    return candidate


def days_back(moment: datetime, now: datetime, zone: ZoneInfo = LONDON) -> int:
    """How many calendar days before `now`'s date `moment`'s date is (0: the same day): a
    report or receipt dated earlier than the day it is recorded is back-dated by this much."""
    return (local_date(now, zone) - local_date(moment, zone)).days
