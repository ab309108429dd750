"""One timeline at intake: a log's (or a complaint's) complaints, risk, triggers, case review
steps and partners' actions in time order, each entry decided by the protocol for the
caller. The worker's timeline consumers apply review's and sharing's events (once each)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from casebridge.common.contracts.review import ReviewApplied, ReviewTransitioned, TriggerRaised
from casebridge.common.contracts.sharing import PartnerUpdateRecorded
from casebridge.common.db import new_id, utcnow
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.intake import worker
from casebridge.intake.models import CaseInvitation, TimelineEntry

from .conftest import COUNCIL, HEALTH, OTHER_AREA, OTHER_COUNCIL, POLICE, Intake
from .helpers import complaint, log
from .test_risk import STANDARD


async def apply(intake: Intake, event: Contract) -> bool:
    """As the worker's timeline consumer does: inbox claim and effects in one transaction."""
    envelope = Envelope(
        source=f"casebridge/{event.source}",
        type=event.event_type(),
        subject=event.subject_for(DEMO_AREA_ID),
        area_id=DEMO_AREA_ID,
        data=event.model_dump(mode="json"),
    )
    consumer = next(c for c in worker.consumers(intake.settings) if envelope.type in c.handlers)
    runner = ConsumerRunner(consumer, NatsLink(intake.settings.nats_url, name="t"), intake.sessions)
    return await runner._apply(consumer.handlers[envelope.type], envelope, event)


async def a_case(intake: Intake) -> dict[str, Any]:
    """The council logs a complaint; review raises a trigger, takes an application and moves
    it on; the police record what they did. The complaint's fields and ids."""
    logged = await log(intake, complaint(risk_answers=STANDARD), agency=COUNCIL)
    person, complaint_id = UUID(logged["person_id"]), UUID(logged["id"])
    review, now = new_id(), datetime.now(UTC)  # after the complaint was reported
    events: list[Contract] = [
        TriggerRaised(trigger_id=new_id(), kind="second_report", person_id=person,
                      complaint_ids=[complaint_id], incidents=2, complainants=1,
                      rule="second report in 6 months", raised_at=now + timedelta(minutes=1)),
        ReviewApplied(review_id=review, reference="CR-DMO-2026-000009", person_id=person,
                      applicant_kind="victim", received_by_agency_id=COUNCIL,
                      complaint_ids=[complaint_id], applied_at=now + timedelta(minutes=2)),
        ReviewTransitioned(review_id=review, reference="CR-DMO-2026-000009",
                           action="accept", from_state="applied", to_state="threshold",
                           agency_id=COUNCIL, at=now + timedelta(minutes=3)),
        PartnerUpdateRecorded(update_id=new_id(), case_reference=logged["reference"],
                              case_kind="complaint", case_id=complaint_id, area_id=DEMO_AREA_ID,
                              agency_id=POLICE, action="visit", note="Spoke to the neighbour",
                              outcome="completed", recorded_at=now + timedelta(minutes=4),
                              person_id=person),
    ]  # fmt: skip
    for event in events:
        assert await apply(intake, event)
    return logged


async def timeline(intake: Intake, url: str, agency: UUID) -> Any:
    response = await intake.client.get(url, headers=intake.auth(agency))
    return response


def kinds(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [entry["kind"] for entry in response.json()["items"]]


def entry(response: Any, kind: str) -> dict[str, Any]:
    (found,) = [e for e in response.json()["items"] if e["kind"] == kind]
    return dict(found)


async def test_the_recorder_sees_one_timeline_in_order(intake: Intake) -> None:
    logged = await a_case(intake)
    response = await timeline(intake, f"/people/{logged['person_id']}/timeline", COUNCIL)
    assert kinds(response) == [
        "complaint.logged",
        "risk.assessed",
        "trigger.raised",
        "case_review.applied",
        "case_review.transitioned",
        "partner_update.recorded",
    ]
    update = entry(response, "partner_update.recorded")["data"]
    # A core partner of the case sees what the police did, not their note (the default
    # protocol's partner_update rule).
    assert update["action"] == "visit"
    assert update["agency_id"] == str(POLICE)
    assert "note" not in update
    assert entry(response, "case_review.transitioned")["data"]["state"] == "threshold"
    assert entry(response, "risk.assessed")["data"]["band"] == "standard"
    same = await timeline(intake, f"/complaints/{logged['id']}/timeline", COUNCIL)
    assert kinds(same) == kinds(response), (kinds(same), kinds(response))


async def test_each_partner_sees_what_the_protocol_grants_it(intake: Intake) -> None:
    logged = await a_case(intake)
    police = await timeline(intake, f"/people/{logged['person_id']}/timeline", POLICE)
    # A core partner: the complaint, its risk band and its own update (whole, with its
    # note); the trigger and the case review are the recorder's, the SPOC's and the panel's.
    assert kinds(police) == ["complaint.logged", "risk.assessed", "partner_update.recorded"]
    assert entry(police, "risk.assessed")["data"]["band"] == "standard"
    assert entry(police, "partner_update.recorded")["data"]["note"] == "Spoke to the neighbour"
    assert "description" not in entry(police, "complaint.logged")["data"]

    health = await timeline(intake, f"/complaints/{logged['id']}/timeline", HEALTH)
    assert health.status_code == 404  # an area partner, not on the case
    async with intake.sessions() as session:
        await session.execute(
            insert(CaseInvitation).values(
                case_reference=logged["reference"], agency_id=HEALTH, area_id=DEMO_AREA_ID,
                invited=True, changed_at=utcnow(),
            )
        )  # fmt: skip
        await session.commit()
    invited = await timeline(intake, f"/complaints/{logged['id']}/timeline", HEALTH)
    assert kinds(invited) == ["complaint.logged", "risk.assessed", "partner_update.recorded"]
    assert "note" not in entry(invited, "partner_update.recorded")["data"]


async def test_an_event_applied_twice_is_one_entry(intake: Intake) -> None:
    logged = await log(intake, complaint(risk_answers=STANDARD), agency=COUNCIL)
    event = TriggerRaised(
        trigger_id=new_id(), kind="second_report", person_id=UUID(logged["person_id"]),
        complaint_ids=[UUID(logged["id"])], incidents=2, complainants=1, rule="r",
        raised_at=datetime.now(UTC),
    )  # fmt: skip
    envelope_id = new_id()
    consumer = next(c for c in worker.consumers(intake.settings) if c.name.endswith("review"))
    runner = ConsumerRunner(consumer, NatsLink(intake.settings.nats_url, name="t"), intake.sessions)
    envelope = Envelope(
        id=envelope_id, source="casebridge/review", type=event.event_type(),
        subject=event.subject_for(DEMO_AREA_ID), area_id=DEMO_AREA_ID,
        data=event.model_dump(mode="json"),
    )  # fmt: skip
    handler = consumer.handlers[envelope.type]
    assert await runner._apply(handler, envelope, event)
    assert not await runner._apply(handler, envelope, event)
    async with intake.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(TimelineEntry)) == 1


async def test_another_areas_agency_gets_404(intake: Intake) -> None:
    logged = await a_case(intake)
    response = await intake.client.get(
        f"/people/{logged['person_id']}/timeline",
        headers=intake.auth(OTHER_COUNCIL, area=OTHER_AREA),
    )
    assert response.status_code == 404
