from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from casebridge.common.db import new_id
from casebridge.review.config import DayUnit, Subdivision, Timescale
from casebridge.review.deadlines import due_date, local_date, raise_overdue
from casebridge.review.models import OutboxMessage, ReviewDeadline

from .conftest import Review
from .events import known

ENG = Subdivision.ENG


def working(days: int) -> Timescale:
    return Timescale(days=days, unit=DayUnit.working)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Christmas 2026: Fri 25 Dec, Boxing Day (Sat) substituted to Mon 28 Dec.
        (date(2026, 12, 23), 2, date(2026, 12, 29)),
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        # ... and New Year's Day (Fri 1 Jan 2027) in a 10-day count.
        (date(2026, 12, 23), 10, date(2027, 1, 11)),
        # Easter 2027: Good Friday 26 March, Easter Monday 29 March.
        (date(2027, 3, 25), 1, date(2027, 3, 30)),
        (date(2027, 3, 25), 2, date(2027, 3, 31)),
        # A weekend: from Friday, two working days is Tuesday; from Saturday, Tuesday too.
        (date(2026, 11, 6), 2, date(2026, 11, 10)),
        (date(2026, 11, 7), 2, date(2026, 11, 10)),
    ],
)
def test_due_date_in_working_days_skips_weekends_and_bank_holidays(
    start: date, days: int, due: date
) -> None:
    assert due_date(start, working(days), ENG) == due


def test_due_date_in_calendar_days_counts_every_day() -> None:
    calendar = Timescale(days=28, unit=DayUnit.calendar)
    assert due_date(date(2026, 12, 1), calendar, ENG) == date(2026, 12, 29)


def test_wales_uses_its_own_bank_holidays() -> None:
    # England and Wales share bank holidays: Easter Monday counts in both.
    assert due_date(date(2027, 3, 25), working(1), Subdivision.WLS) == date(2027, 3, 30)


def test_local_date_is_the_day_in_london() -> None:
    assert local_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == date(2026, 7, 1)  # BST
    assert local_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 12, 31)  # GMT


async def apply(review: Review) -> str:
    person = new_id()
    await known(review.sessions, person)
    body = {
        "applicant_kind": "victim",
        "person_id": str(person),
        "applicant_name": "Sam",
        "applicant_contact": "sam@example.org",
        "summary": "Repeated noise",
    }
    response = await review.client.post("/reviews", json=body, headers=review.auth())
    assert response.status_code == 201
    return str(response.json()["reference"])


async def test_deadlines_are_stored_with_the_rule_that_produced_them(review: Review) -> None:
    reference = await apply(review)
    response = await review.client.get(f"/reviews/{reference}/deadlines", headers=review.auth())
    deadlines = {d["stage"]: d for d in response.json()}
    assert set(deadlines) == {"acknowledge", "threshold_decision"}
    acknowledge = deadlines["acknowledge"]
    assert "2 working days after" in acknowledge["rule"]
    assert "England bank holidays" in acknowledge["rule"]
    start = date.fromisoformat(acknowledge["starts_on"])
    assert acknowledge["due_on"] == due_date(start, working(2), ENG).isoformat()


async def test_overdue_is_raised_once_per_missed_deadline(review: Review) -> None:
    reference = await apply(review)
    await review.client.post(f"/reviews/{reference}/acknowledge", headers=review.auth())
    today = date.today() + timedelta(days=60)  # both deadlines long passed
    async with review.sessions() as session:
        assert await raise_overdue(session, today=today) == 1  # acknowledge was met in time
        assert await raise_overdue(session, today=today) == 0
        await session.commit()
        events = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.event_type == "review.case_review.deadline_missed.v1"
                )
            )
        )
        assert [e.payload["data"]["stage"] for e in events] == ["threshold_decision"]
        assert events[0].payload["data"]["reference"] == reference


async def test_a_deadline_not_yet_passed_is_not_overdue(review: Review) -> None:
    await apply(review)
    async with review.sessions() as session:
        await session.execute(update(ReviewDeadline).values(due_on=date(2030, 1, 1)))
        assert await raise_overdue(session, today=date(2030, 1, 1)) == 0  # due today is on time
        assert await raise_overdue(session, today=date(2030, 1, 2)) == 2
