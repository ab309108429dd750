"""What an application counts (issue 11, points 1, 2, 5 and out-of-order arrival): one
definition of the same behaviour, calendar dates in London, and a read of every complaint
considered with its reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from casebridge.common.contracts.intake import ComplaintLogged, IncidentLinked
from casebridge.common.db import new_id, utcnow
from casebridge.review.models import IndexedComplaint, OutboxMessage

from .conftest import HOUSING, POLICE, Review
from .events import complaint, deliver
from .test_reviews import act, apply, vote

LONDON = ZoneInfo("Europe/London")
DAY = timedelta(days=1)


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=LONDON)


def recent(days_ago: int, **fields: Any) -> dict[str, Any]:
    return {"reported_at": utcnow() - days_ago * DAY, **fields}


async def logged(review: Review, person: UUID, **fields: Any) -> ComplaintLogged:
    event = complaint(person, **fields)
    await deliver(review.sessions, event)
    return event


async def counting(review: Review, reference: str, **params: Any) -> Any:
    return await review.client.get(
        f"/reviews/{reference}/counting", params=params, headers=review.auth()
    )


UNRELATED = [
    {"asb_type": "noise", "postcode": "AB1 2CD", "perpetrator_keys": ["household:3-high-st"]},
    {"asb_type": "littering_drugs", "postcode": "AB9 9PK", "perpetrator_keys": []},
    {"asb_type": "animal_problems", "postcode": "AB4 7XY", "perpetrator_keys": ["person:dog"]},
]


async def test_three_complaints_about_three_unrelated_problems_do_not_meet_the_threshold(
    review: Review,
) -> None:
    """The regression: one person, three unrelated problems, applied for: not met
    automatically, as no statutory trigger was raised for them either."""
    person = new_id()
    for n, fields in enumerate(UNRELATED):
        await logged(review, person, **recent(30 - 10 * n, **fields))
    applied = await apply(review, person)
    body = (await act(review, applied["reference"], "acknowledge")).json()
    assert body["state"] == "acknowledged"  # the panel decides; the law does not
    found = (await counting(review, applied["reference"])).json()
    assert found["met"] is False
    assert [b["qualifying_incidents"] for b in found["behaviours"]] == [1, 1, 1]
    assert {c["behaviour"] for c in found["complaints"]} == {1, 2, 3}
    triggers = await review.client.get(
        "/triggers", params={"person_id": str(person), "kind": "statutory"}, headers=review.auth()
    )
    assert triggers.json()["items"] == []


async def test_an_application_spanning_behaviours_is_decided_per_behaviour(
    review: Review,
) -> None:
    person = new_id()
    noise = UNRELATED[0]
    for days in (40, 20, 5):
        await logged(review, person, **recent(days, **noise))
    litter = await logged(review, person, **recent(10, **UNRELATED[1]))
    applied = await apply(review, person)
    body = (await act(review, applied["reference"], "acknowledge")).json()
    assert body["state"] == "threshold_met"
    assert "behaviour 1 (noise at AB12CD): 3 qualifying" in body["threshold_reasons"]
    assert "behaviour 2 (littering drugs at AB99PK): 1 qualifying" in body["threshold_reasons"]
    found = (await counting(review, applied["reference"])).json()
    assert found["decided"] is True
    assert found["decided_by"] == "statutory"
    assert [(b["number"], b["qualifying_incidents"], b["met"]) for b in found["behaviours"]] == [
        (1, 3, True),
        (2, 1, False),
    ]
    by_id = {c["complaint_id"]: c for c in found["complaints"]}
    assert by_id[str(litter.complaint_id)]["behaviour"] == 2
    async with review.sessions() as session:
        event = await session.scalar(
            select(OutboxMessage.payload).where(
                OutboxMessage.event_type == "review.case_review.threshold_decided.v1"
            )
        )
    assert event is not None
    assert event["data"]["behaviours"] == [
        {"number": 1, "qualifying_incidents": 3, "met": True},
        {"number": 2, "qualifying_incidents": 1, "met": False},
    ]
    assert len(event["data"]["counted_complaint_ids"]) == 4


async def test_the_applicant_names_the_behaviour_and_the_spoc_may_change_it(
    review: Review,
) -> None:
    person = new_id()
    for days in (40, 20, 5):
        await logged(review, person, **recent(days, **UNRELATED[0]))
    litter = await logged(review, person, **recent(10, **UNRELATED[1]))
    behaviour = {"complaint_id": str(litter.complaint_id), "note": "needles in the park"}
    applied = await apply(review, person, behaviour=behaviour)
    assert applied["behaviour_complaint_id"] == str(litter.complaint_id)
    body = (await act(review, applied["reference"], "acknowledge")).json()
    assert body["state"] == "acknowledged"  # one qualifying complaint about the litter
    found = (await counting(review, applied["reference"])).json()
    reasons = sorted(c["reason"] for c in found["complaints"])
    assert reasons == ["counted", "other_behaviour", "other_behaviour", "other_behaviour"]
    noise = next(c for c in found["complaints"] if c["reason"] == "other_behaviour")
    changed = await act(
        review, applied["reference"], "behaviour", {"complaint_id": noise["complaint_id"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["state"] == "threshold_met"  # checked against the law again
    history = await review.client.get(
        f"/reviews/{applied['reference']}/history", headers=review.auth()
    )
    assert "change_behaviour" in [h["action"] for h in history.json()]


async def test_the_behaviour_cannot_change_under_the_panels_votes(review: Review) -> None:
    person = new_id()
    first = await logged(review, person, **recent(5))
    applied = await apply(review, person)
    await act(review, applied["reference"], "acknowledge")
    assert (await vote(review, applied["reference"], POLICE, True)).status_code == 200
    refused = await act(
        review, applied["reference"], "behaviour", {"complaint_id": str(first.complaint_id)}
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "behaviour_voted_on"
    unknown = await act(review, applied["reference"], "behaviour", {"complaint_id": str(new_id())})
    assert unknown.status_code in (409, 404)


async def test_behaviour_naming_a_complaint_not_the_victims_is_refused(review: Review) -> None:
    someone_else = await logged(review, new_id(), **recent(3))
    victim = new_id()
    await logged(review, victim, **recent(2))
    body = {
        "applicant_kind": "victim",
        "applicant_name": "Alex Example",
        "applicant_contact": "07700 900123",
        "summary": "Noise",
        "person_id": str(victim),
        "behaviour": {"complaint_id": str(someone_else.complaint_id)},
    }
    response = await review.client.post("/reviews", json=body, headers=review.auth())
    assert response.status_code == 409
    assert response.json()["error"] == "unknown_behaviour"


@pytest.mark.parametrize(
    ("occurred_at", "reported_at", "qualifies"),
    [
        # 23:30 BST on 1 October; 1 November at 00:10 GMT is a day too late, although less
        # than a month later in UTC (the old rule counted it)
        (
            datetime(2026, 10, 1, 22, 30, tzinfo=UTC),
            datetime(2026, 11, 1, 0, 10, tzinfo=UTC),
            False,
        ),
        (
            datetime(2026, 10, 1, 22, 30, tzinfo=UTC),
            datetime(2026, 10, 31, 23, 50, tzinfo=UTC),
            True,
        ),
        # 00:10 BST on 1 October is 30 September in UTC; 31 October is still in time (the old
        # rule refused it)
        (
            datetime(2026, 9, 30, 23, 10, tzinfo=UTC),
            datetime(2026, 10, 31, 12, 0, tzinfo=UTC),
            True,
        ),
        # 31 January: no 31 February, so the month ends on 28 February
        (at_noon(date(2027, 1, 31)), at_noon(date(2027, 2, 28)), True),
        (at_noon(date(2027, 1, 31)), at_noon(date(2027, 3, 1)), False),
    ],
)
async def test_a_complaint_qualifies_by_its_london_dates_not_its_utc_time(
    review: Review, occurred_at: datetime, reported_at: datetime, qualifies: bool
) -> None:
    person = new_id()
    event = complaint(person, reported_at=reported_at, occurred_at=occurred_at)
    await deliver(review.sessions, event)
    async with review.sessions() as session:
        row = await session.get(IndexedComplaint, event.complaint_id)
    assert row is not None
    from casebridge.review.rules import qualifies as rule

    assert rule(row) is qualifies


async def test_six_months_before_the_application_by_date(review: Review) -> None:
    """Complaints made on the last date the six months still reach the application, and on
    the day before (relativedelta, not the code under test, gives the boundary)."""
    today = utcnow().astimezone(LONDON).date()
    last_out = today - relativedelta(months=6)
    person = new_id()
    events = []
    for day in (last_out, last_out + DAY, today - 10 * DAY, today - 5 * DAY):
        events.append(
            await logged(review, person, reported_at=at_noon(day), after_behaviour=timedelta(0))
        )
    listed = [str(e.complaint_id) for e in events]
    applied = await apply(review, person, complaint_ids=listed)
    found = (await counting(review, applied["reference"])).json()
    reasons = {c["complaint_id"]: c["reason"] for c in found["complaints"]}
    assert reasons[listed[0]] == "outside_six_months"
    assert reasons[listed[1]] == "counted"
    assert found["qualifying_incidents"] == 3
    assert (await act(review, applied["reference"], "acknowledge")).json()["state"] == (
        "threshold_met"
    )


async def test_counting_gives_every_reason(review: Review) -> None:
    person, incident = new_id(), new_id()
    base = utcnow() - 20 * DAY
    late = await logged(review, person, reported_at=base, after_behaviour=timedelta(days=45))
    first = await logged(review, person, reported_at=base + DAY, incident_id=incident)
    same = await logged(
        review, person, reported_at=base + 2 * DAY, incident_id=incident, receiving_agency_id=POLICE
    )
    received = utcnow() - 2 * DAY  # a letter entered two days after it came
    backdated = {"received_at": received.isoformat(), "backdated_reason": "letter"}
    applied = await apply(review, person, **backdated)
    after = await logged(review, person, reported_at=utcnow() - DAY)
    listed = [str(e.complaint_id) for e in (late, first, same, after)]
    listed_review = await apply(review, person, complaint_ids=listed, **backdated)
    found = (await counting(review, listed_review["reference"])).json()
    by_id = {c["complaint_id"]: c for c in found["complaints"]}
    assert by_id[str(late.complaint_id)]["reason"] == "late_report"
    assert "more than one month after the behaviour" in by_id[str(late.complaint_id)]["explanation"]
    assert by_id[str(first.complaint_id)]["reason"] == "counted"
    assert by_id[str(same.complaint_id)]["reason"] == "same_incident"
    assert by_id[str(same.complaint_id)]["same_incident_as"] == first.reference
    assert by_id[str(after.complaint_id)]["reason"] == "after_application"
    assert found["decided"] is False
    auto = (await counting(review, applied["reference"])).json()
    assert str(after.complaint_id) not in {c["complaint_id"] for c in auto["complaints"]}


async def test_out_of_order_arrival_decides_as_in_order(review: Review) -> None:
    """A complaint whose event arrives after a later one's: the same trigger and the same
    decision as when they arrive in order."""
    outcomes = []
    for order in (lambda e: e, lambda e: list(reversed(e))):
        person = new_id()
        events = [
            complaint(person, receiving_agency_id=agency, **recent(days))
            for agency, days in ((POLICE, 50), (HOUSING, 30), (POLICE, 10))
        ]
        for event in order(events):
            await deliver(review.sessions, event)
        statutory = await review.client.get(
            "/triggers", params={"person_id": str(person), "kind": "statutory"},
            headers=review.auth(),
        )  # fmt: skip
        (trigger,) = statutory.json()["items"]
        applied = await apply(review, person)
        decided = (await act(review, applied["reference"], "acknowledge")).json()
        found = (await counting(review, applied["reference"])).json()
        ids = [str(e.complaint_id) for e in events]
        outcomes.append(
            (
                sorted(ids.index(c) for c in trigger["complaint_ids"]),
                decided["state"],
                sorted((ids.index(c["complaint_id"]), c["reason"]) for c in found["complaints"]),
            )
        )
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1] == "threshold_met"


async def test_a_change_arriving_before_its_complaint_waits_for_it(review: Review) -> None:
    person, incident = new_id(), new_id()
    event = complaint(person, **recent(2))
    linked = IncidentLinked(
        complaint_id=event.complaint_id,
        incident_id=incident,
        previous_incident_id=event.complaint_id,
        linked_at=utcnow(),
    )
    with pytest.raises(Exception, match="not indexed yet"):
        await deliver(review.sessions, linked)  # the consumer naks it and it comes again
    await deliver(review.sessions, event)
    assert await deliver(review.sessions, linked)
    async with review.sessions() as session:
        row = await session.get(IndexedComplaint, event.complaint_id)
    assert row is not None
    assert row.incident_id == incident
    stale = linked.model_copy(update={"incident_id": new_id(), "linked_at": utcnow() - DAY})
    assert await deliver(review.sessions, stale)  # an older change arriving late is ignored
    async with review.sessions() as session:
        row = await session.get(IndexedComplaint, event.complaint_id)
    assert row is not None
    assert row.incident_id == incident


async def test_a_client_waits_on_the_fact_not_the_clock(review: Review) -> None:
    """After linking two complaints in intake, a client asks review to answer only once it
    has applied that link (intake's updated_at): 409 with Retry-After until then."""
    person = new_id()
    first = await logged(review, person, **recent(6))
    second = await logged(review, person, **recent(5), receiving_agency_id=POLICE)
    applied = await apply(review, person)
    linked_at = utcnow()
    params = {"not_older_than": linked_at.isoformat(), "complaint_id": [str(second.complaint_id)]}
    early = await counting(review, applied["reference"], **params)
    assert early.status_code == 409, early.text
    assert early.json()["error"] == "not_caught_up"
    assert early.headers["retry-after"] == "1"
    link = IncidentLinked(
        complaint_id=second.complaint_id,
        incident_id=first.incident_id or first.complaint_id,
        previous_incident_id=second.complaint_id,
        linked_at=linked_at,
    )
    await deliver(review.sessions, link)
    ready = await counting(review, applied["reference"], **params)
    assert ready.status_code == 200, ready.text
    by_id = {c["complaint_id"]: c for c in ready.json()["complaints"]}
    assert by_id[str(second.complaint_id)]["reason"] == "same_incident"
    assert datetime.fromisoformat(by_id[str(second.complaint_id)]["as_of"]) == linked_at
    assert datetime.fromisoformat(ready.json()["intake_as_of"]) == linked_at
    missing = await counting(review, applied["reference"], not_older_than=linked_at.isoformat())
    assert missing.status_code == 422
