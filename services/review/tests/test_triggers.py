"""Scenarios from domain.md: complaints arrive as intake's events; the SPOC reads /triggers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from casebridge.common.contracts.intake import (
    ComplaintLogged,
    IncidentLinked,
    IncidentUnlinked,
    PersonMerged,
    RiskAssessed,
)
from casebridge.common.db import new_id
from casebridge.devstack.seeds.review import demo_document
from casebridge.review.models import IndexedComplaint, OutboxMessage

from .conftest import ADMIN, HOUSING, OTHER_AGENCY, OTHER_AREA, POLICE, Review
from .events import NOW, complaint, deliver

DAY = timedelta(days=1)


async def triggers(review: Review, **params: Any) -> list[dict[str, Any]]:
    response = await review.client.get("/triggers", params=params, headers=review.auth())
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def kinds(review: Review, person: UUID) -> list[str]:
    return sorted(t["kind"] for t in await triggers(review, person_id=str(person)))


async def three_agencies(review: Review, person: UUID, **fields: Any) -> list[ComplaintLogged]:
    events = [
        complaint(person, reported_at=NOW - 60 * DAY, **fields),
        complaint(person, reported_at=NOW - 30 * DAY, receiving_agency_id=POLICE, **fields),
        complaint(person, reported_at=NOW, receiving_agency_id=HOUSING, **fields),
    ]
    for event in events:
        await deliver(review.sessions, event)
    return events


async def test_three_qualifying_complaints_to_three_agencies_meet_the_threshold(
    review: Review,
) -> None:
    person = new_id()
    events = await three_agencies(review, person)
    statutory = await triggers(review, person_id=str(person), kind="statutory")
    assert len(statutory) == 1
    assert set(statutory[0]["complaint_ids"]) == {str(e.complaint_id) for e in events}
    assert statutory[0]["detail"]["incidents"] == 3
    async with review.sessions() as session:
        raised = await session.scalar(
            select(func.count()).where(OutboxMessage.event_type == "review.trigger.raised.v1")
        )
    assert raised == 2  # the second report, then the statutory threshold


async def test_same_incident_to_police_and_council_counts_once(review: Review) -> None:
    person, incident = new_id(), new_id()
    await deliver(review.sessions, complaint(person, reported_at=NOW - 20 * DAY))
    for agency in (POLICE, HOUSING):
        event = complaint(person, incident_id=incident, receiving_agency_id=agency)
        await deliver(review.sessions, event)
    assert await kinds(review, person) == ["second_report"]  # two incidents, not three
    await deliver(review.sessions, complaint(person, reported_at=NOW + DAY))
    assert await kinds(review, person) == ["second_report", "statutory"]


async def test_complaint_five_weeks_after_the_behaviour_does_not_qualify(review: Review) -> None:
    person = new_id()
    await deliver(review.sessions, complaint(person, reported_at=NOW - 10 * DAY))
    await deliver(review.sessions, complaint(person, reported_at=NOW - 5 * DAY))
    late = complaint(person, after_behaviour=timedelta(weeks=5))
    await deliver(review.sessions, late)
    assert await kinds(review, person) == ["second_report"]


async def test_complaints_about_different_behaviour_do_not_add_up(review: Review) -> None:
    person = new_id()
    for n, asb_type in enumerate(("noise", "fireworks", "vehicle_nuisance")):
        await deliver(
            review.sessions, complaint(person, reported_at=NOW + n * DAY, asb_type=asb_type)
        )
    assert await kinds(review, person) == ["second_report"]


async def test_same_alleged_perpetrator_is_the_same_behaviour(review: Review) -> None:
    person = new_id()
    for n, (asb_type, postcode) in enumerate(
        (("noise", "AB1 2CD"), ("rowdy_behaviour", "AB1 9ZZ"), ("animal_problems", None))
    ):
        event = complaint(
            person,
            reported_at=NOW + n * DAY,
            asb_type=asb_type,
            postcode=postcode,
            perpetrator_keys=["household:17-acacia-avenue"],
        )
        await deliver(review.sessions, event)
    assert "statutory" in await kinds(review, person)


async def test_complaints_over_six_months_apart_do_not_add_up(review: Review) -> None:
    person = new_id()
    for months in (8, 7, 0):
        await deliver(review.sessions, complaint(person, reported_at=NOW - months * 30 * DAY))
    assert "statutory" not in await kinds(review, person)


async def test_local_threshold_of_two_is_met_with_two_complaints(review: Review) -> None:
    document = demo_document().replace("threshold: 3 ", "threshold: 2 ")
    response = await review.client.put(
        "/config", content=document, headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 201
    person = new_id()
    await deliver(review.sessions, complaint(person, reported_at=NOW - DAY))
    await deliver(review.sessions, complaint(person, receiving_agency_id=POLICE))
    assert await kinds(review, person) == ["second_report", "statutory"]


async def test_community_threshold_needs_enough_complainants(review: Review) -> None:
    neighbours = [new_id(), new_id(), new_id()]
    place = {"postcode": "CF10 1AA", "asb_type": "street_drinking"}
    for n, person in enumerate([neighbours[0], neighbours[1]] * 2):  # 4 complaints, 2 people
        await deliver(review.sessions, complaint(person, reported_at=NOW + n * DAY, **place))
    assert await triggers(review, kind="community") == []
    await deliver(review.sessions, complaint(neighbours[2], reported_at=NOW + 5 * DAY, **place))
    community = await triggers(review, kind="community")
    assert len(community) == 1
    assert community[0]["person_id"] is None
    assert community[0]["detail"]["complainants"] == 3
    await deliver(review.sessions, complaint(neighbours[2], reported_at=NOW + 6 * DAY, **place))
    assert len(await triggers(review, kind="community")) == 1  # same episode


async def test_one_hate_motivated_incident_meets_the_hate_threshold(review: Review) -> None:
    person = new_id()
    await deliver(review.sessions, complaint(person, hate_motivated=True))
    assert await kinds(review, person) == ["hate"]
    await deliver(review.sessions, complaint(person, reported_at=NOW + DAY, hate_motivated=True))
    assert await kinds(review, person) == ["hate", "second_report"]


async def test_second_report_prompt_is_tracked_until_explained(review: Review) -> None:
    person = new_id()
    await deliver(review.sessions, complaint(person, reported_at=NOW - DAY, asb_type="noise"))
    assert await kinds(review, person) == []
    await deliver(review.sessions, complaint(person, asb_type="fireworks"))
    await deliver(review.sessions, complaint(person, reported_at=NOW + DAY, asb_type="begging"))
    (prompt,) = await triggers(review, person_id=str(person), state="open")
    assert prompt["kind"] == "second_report"
    url = f"/triggers/{prompt['id']}/explained"
    done = await review.client.post(url, json={"note": "by phone"}, headers=review.auth(POLICE))
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "explained"
    assert done.json()["explained_by_agency_id"] == str(POLICE)
    assert await triggers(review, person_id=str(person), state="open") == []
    again = await review.client.post(url, headers=review.auth())
    assert again.status_code == 409
    assert again.json()["error"] == "trigger_not_explainable"


async def test_only_a_second_report_trigger_is_explained(review: Review) -> None:
    person = new_id()
    await deliver(review.sessions, complaint(person, hate_motivated=True))
    (hate,) = await triggers(review, person_id=str(person))
    response = await review.client.post(f"/triggers/{hate['id']}/explained", headers=review.auth())
    assert response.status_code == 409


async def test_redelivered_events_do_not_raise_a_trigger_twice(review: Review) -> None:
    person = new_id()
    events = [complaint(person, reported_at=NOW + n * DAY) for n in range(3)]
    ids = [new_id() for _ in events]
    for _ in range(2):
        for event, event_id in zip(events, ids, strict=True):
            await deliver(review.sessions, event, event_id=event_id)  # the same message again
        for event in events:
            await deliver(review.sessions, event)  # re-emitted under a new event id
    assert await kinds(review, person) == ["second_report", "statutory"]


async def test_anonymous_complaints_without_a_person_raise_no_victim_trigger(
    review: Review,
) -> None:
    for n in range(3):
        await deliver(review.sessions, complaint(None, reported_at=NOW + n * DAY, anonymous=True))
    assert [t["kind"] for t in await triggers(review)] == []


async def test_auto_start_opens_a_review_from_the_threshold(review: Review) -> None:
    document = demo_document().replace("auto_start_review: false", "auto_start_review: true")
    assert (
        await review.client.put("/config", content=document, headers=review.auth(roles=[ADMIN]))
    ).is_success
    person = new_id()
    await three_agencies(review, person)
    (statutory,) = await triggers(review, person_id=str(person), kind="statutory")
    assert statutory["state"] == "review_started"
    reviews = (await review.client.get("/reviews", headers=review.auth())).json()["items"]
    assert [r["id"] for r in reviews] == [statutory["review_id"]]
    assert reviews[0]["applicant_kind"] == "automatic"
    assert reviews[0]["state"] == "received"


async def test_high_risk_from_intake_raises_a_trigger(review: Review) -> None:
    person = new_id()
    event = complaint(person)
    await deliver(review.sessions, event)
    assessed = RiskAssessed(
        assessment_id=new_id(),
        complaint_id=event.complaint_id,
        person_id=person,
        receiving_agency_id=POLICE,
        config_version="matrix-v1",
        score=24,
        band="high",
        assessed_at=NOW,
    )
    assert await deliver(review.sessions, assessed)
    assert await deliver(review.sessions, assessed)  # re-emitted: still one trigger
    (high,) = await triggers(review, person_id=str(person))
    assert high["kind"] == "high_risk"
    assert high["complaint_ids"] == [str(event.complaint_id)]
    assert "scored 24" in high["detail"]["rule"]


async def test_risk_below_high_or_already_high_raises_nothing(review: Review) -> None:
    person = new_id()
    event = complaint(person)
    await deliver(review.sessions, event)
    base = {
        "complaint_id": event.complaint_id,
        "person_id": person,
        "receiving_agency_id": POLICE,
        "config_version": "matrix-v1",
        "assessed_at": NOW,
    }
    medium = RiskAssessed(assessment_id=new_id(), score=15, band="medium", **base)
    still_high = RiskAssessed(
        assessment_id=new_id(), score=25, band="high", previous_band="high", **base
    )
    for assessed in (medium, still_high):
        assert await deliver(review.sessions, assessed)
    assert await kinds(review, person) == []


def link(event: ComplaintLogged, incident: UUID) -> IncidentLinked:
    return IncidentLinked(
        complaint_id=event.complaint_id,
        incident_id=incident,
        previous_incident_id=event.incident_id or event.complaint_id,
        linked_at=max(NOW, event.reported_at) + timedelta(minutes=1),  # after it was logged
    )


async def indexed_incident(review: Review, event: ComplaintLogged) -> UUID | None:
    async with review.sessions() as session:
        row = await session.get(IndexedComplaint, event.complaint_id)
    assert row is not None
    return row.incident_id


async def test_incident_linked_later_makes_complaints_count_once(review: Review) -> None:
    person, incident = new_id(), new_id()
    first = complaint(person, reported_at=NOW - DAY, incident_id=new_id())
    second = complaint(person, receiving_agency_id=POLICE, incident_id=new_id())
    for event in (first, second):
        await deliver(review.sessions, event)
    for event in (first, second):
        assert await deliver(review.sessions, link(event, incident))
    assert await indexed_incident(review, first) == incident
    assert await indexed_incident(review, second) == incident
    await deliver(review.sessions, complaint(person, reported_at=NOW + DAY))
    assert await kinds(review, person) == ["second_report"]  # two incidents, not three


async def test_incident_linked_joins_two_strands_of_one_behaviour(review: Review) -> None:
    """Noise at one address and fireworks by one household are two behaviours, until intake
    links a noise complaint and a fireworks complaint as one incident: then all four complaints
    are about one behaviour, three incidents, and the threshold is met."""
    person = new_id()
    noise = [
        complaint(person, reported_at=NOW + n * DAY, asb_type="noise", postcode="AB1 2CD")
        for n in (0, 1)
    ]
    fireworks = [
        complaint(
            person,
            reported_at=NOW + n * DAY,
            asb_type="fireworks",
            postcode=None,
            perpetrator_keys=["household:9"],
        )
        for n in (2, 3)
    ]
    for event in (*noise, *fireworks):
        await deliver(review.sessions, event)
    assert await kinds(review, person) == ["second_report"]
    incident = new_id()
    for event in (noise[1], fireworks[0]):
        await deliver(review.sessions, link(event, incident))
    (statutory,) = await triggers(review, person_id=str(person), kind="statutory")
    assert statutory["detail"]["incidents"] == 3
    assert len(statutory["complaint_ids"]) == 4


async def test_incident_unlinked_counts_again_and_completes_the_threshold(
    review: Review,
) -> None:
    """Unlinking makes the complaint its own incident (the new incident intake made for it);
    the windows holding it are evaluated again, and a threshold they now meet is raised once.
    """
    person, shared = new_id(), new_id()
    first = complaint(person, reported_at=NOW - 2 * DAY, incident_id=new_id())
    to_police = complaint(person, reported_at=NOW - DAY, incident_id=shared)
    to_council = complaint(person, receiving_agency_id=POLICE, incident_id=shared)
    for event in (first, to_police, to_council):
        await deliver(review.sessions, event)
    assert await kinds(review, person) == ["second_report"]
    own = new_id()
    unlinked = IncidentUnlinked(
        complaint_id=to_council.complaint_id,
        incident_id=own,
        previous_incident_id=shared,
        unlinked_at=NOW,
    )
    assert await deliver(review.sessions, unlinked)
    assert await indexed_incident(review, to_council) == own
    (statutory,) = await triggers(review, person_id=str(person), kind="statutory")
    expected = {str(e.complaint_id) for e in (first, to_police, to_council)}
    assert set(statutory["complaint_ids"]) == expected
    assert statutory["detail"]["incidents"] == 3
    assert await deliver(review.sessions, unlinked)  # re-emitted under a new event id
    assert await kinds(review, person) == ["second_report", "statutory"]


async def test_person_merged_moves_complaints_and_triggers_to_the_survivor(
    review: Review,
) -> None:
    """A duplicate log is the same victim: its complaints join the survivor's windows, its
    triggers and reviews are listed under the survivor, an episode either log already raised
    is not raised again, and a rule only the merged log meets is raised once."""
    survivor, duplicate = new_id(), new_id()
    kept = [complaint(survivor, reported_at=NOW - n * DAY) for n in (10, 5)]
    moved = complaint(duplicate, reported_at=NOW - DAY, hate_motivated=True)
    for event in (*kept, moved):
        await deliver(review.sessions, event)
    assert await kinds(review, survivor) == ["second_report"]
    assert await kinds(review, duplicate) == ["hate"]
    merged = PersonMerged(
        survivor_id=survivor,
        merged_id=duplicate,
        complaint_ids=[moved.complaint_id],
        merged_by_agency_id=POLICE,
        merged_at=NOW,
    )
    assert await deliver(review.sessions, merged)
    async with review.sessions() as session:
        row = await session.get(IndexedComplaint, moved.complaint_id)
    assert row is not None
    assert row.person_id == survivor
    assert await kinds(review, duplicate) == []
    # the hate episode moved rather than raised again; the three complaints now meet the
    # statutory threshold, and the second report stays one episode
    assert await kinds(review, survivor) == ["hate", "second_report", "statutory"]
    (statutory,) = await triggers(review, person_id=str(survivor), kind="statutory")
    assert set(statutory["complaint_ids"]) == {str(e.complaint_id) for e in (*kept, moved)}
    assert await deliver(review.sessions, merged)  # re-emitted: nothing new
    assert await kinds(review, survivor) == ["hate", "second_report", "statutory"]


async def test_list_triggers_pages_with_a_cursor_and_stays_in_its_area(review: Review) -> None:
    for n in range(5):  # five places, so no community threshold either
        event = complaint(new_id(), hate_motivated=True, postcode=f"AB{n} 1CD")
        await deliver(review.sessions, event)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (await review.client.get("/triggers", params=params, headers=review.auth())).json()
        seen.extend(t["id"] for t in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    outsider = review.auth(OTHER_AGENCY, area=OTHER_AREA)
    assert (await review.client.get("/triggers", headers=outsider)).json()["items"] == []
    trigger_url = f"/triggers/{seen[0]}"
    assert (await review.client.get(trigger_url, headers=outsider)).status_code == 404
    assert (
        await review.client.post(f"{trigger_url}/explained", headers=outsider)
    ).status_code == 404


async def test_list_triggers_refuses_bad_filters(review: Review) -> None:
    for params in ({"limit": 101}, {"kind": "bogus"}, {"cursor": "not-a-cursor"}):
        response = await review.client.get("/triggers", params=params, headers=review.auth())
        assert response.status_code == 422, params
