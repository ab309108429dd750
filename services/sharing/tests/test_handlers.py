"""The sharing consumer as the runner drives it: a logged complaint is indexed and shared
with every other active agency of its area under the area's protocol, one disclosure per
partner, exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.common.events.models import OutboxMessage, ProcessedMessage
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing import handlers, worker
from casebridge.sharing.models import Agency, CaseIndex, Delivery, Disclosure
from casebridge.sharing.settings import Settings

from .conftest import (
    COUNCIL,
    HOUSING,
    OTHER_AGENCY,
    POLICE,
    Sharing,
    complaint_logged,
    review_applied,
)

# What a core partner receives of a logged complaint under the default protocol, before
# the victim is asked (and after consent is given: the victim's identity and the rest).
CORE = {
    "id", "reference", "area_id", "receiving_agency_id", "channel", "status", "incident_id",
    "occurred_at", "reported_at", "postcode_district", "nsir_category", "asb_type",
    "hate_motivated", "anonymous", "consent_status", "shared_by_override",
}  # fmt: skip
CORE_WITH_CONSENT = CORE | {"person_id", "agency_references", "postcode", "perpetrators"}
META = {"disclosure_id", "protocol_version", "purposes", "redacted_fields"}


def runner(sharing: Sharing, name: str = "sharing-complaints") -> ConsumerRunner:
    consumer = next(c for c in worker.consumers(sharing.settings) if c.name == name)
    link = NatsLink(sharing.settings.nats_url, name="test")  # never connected: _apply needs none
    return ConsumerRunner(consumer, link, sharing.sessions)


async def apply(sharing: Sharing, envelope: Envelope, event: Contract) -> bool:
    """Run the handler exactly as the consumer runner does: inbox claim + effects, one commit."""
    name = worker.DURABLES[event.source]
    consumer = runner(sharing, name)
    handler = consumer.consumer.handlers[envelope.type]
    return await consumer._apply(handler, envelope, event)


async def disclosures(sharing: Sharing) -> dict[Any, Disclosure]:
    async with sharing.sessions() as session:
        rows = (await session.scalars(select(Disclosure))).all()
    return {row.recipient_agency_id: row for row in rows}


async def outbox(sharing: Sharing, event_type: str) -> list[OutboxMessage]:
    async with sharing.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.event_type == event_type)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        return list(rows.all())


async def deliveries_by_agency(sharing: Sharing) -> dict[str, dict[str, Any]]:
    """Delivery envelopes in the outbox, keyed by recipient agency (from the subject)."""
    messages = await outbox(sharing, "sharing.delivery.complaint.logged.v1")
    return {m.subject.split(".")[2]: m.payload for m in messages}


def test_consumers_listen_to_every_offered_event_and_nothing_else() -> None:
    """Every offered event, and review's procedure changes on the review events' durable
    (in stream order with them: a review event is decided on the procedure before it)."""
    complaints, reviews, updates = worker.consumers(Settings())
    assert complaints.stream == "INTAKE"
    assert set(complaints.subjects) == {
        f"intake.*.{name}.v1"
        for name in (
            "complaint.logged", "complaint.updated", "consent.changed", "incident.linked",
            "incident.unlinked", "complaint.reference_added", "risk.assessed",
            "person.vulnerability_changed",
        )
    }  # fmt: skip
    assert reviews.stream == "REVIEW"
    assert set(reviews.subjects) == {
        f"review.*.{name}.v1"
        for name in (
            "trigger.raised", "trigger.explained", "case_review.applied",
            "case_review.transitioned", "case_review.threshold_decided",
            "case_review.recommendations_made", "case_review.escalation_decided",
            "case_review.deadline_missed", "case_review.letter_issued", "procedure.changed",
        )
    }  # fmt: skip
    assert (updates.stream, updates.subjects) == (
        "SHARING",
        ["sharing.*.partner_update.recorded.v1"],
    )
    for consumer in (complaints, reviews, updates):
        assert set(consumer.handlers.values()) == {handlers.on_shareable}
        assert {t.split(".", 1)[1] for t in consumer.handlers} == {
            s.split(".", 2)[2] for s in consumer.subjects
        }


async def test_complaint_is_shared_with_each_other_agency(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    envelope, event = complaint_logged(receiving=COUNCIL)
    assert await apply(sharing, envelope, event)
    rows = await disclosures(sharing)
    assert set(rows) == {POLICE, HOUSING}  # not the receiving council, not another area
    for row in rows.values():
        assert row.outcome == "delivered"
        assert row.source_event_id == envelope.id
        assert row.source_event_type == "intake.complaint.logged.v1"
        assert row.purposes == ["asb_case_management"]
        assert row.purpose == "asb_case_management"
        assert row.legal_bases[0].endswith("Crime and Disorder Act 1998 s115")
        assert row.protocol_version == 1
        assert row.controller_agency_id == COUNCIL
        assert row.source_reference == event.reference
        assert row.person_id == event.person_id
        assert set(row.fields) == CORE
    delivered = await deliveries_by_agency(sharing)
    assert set(delivered) == {str(POLICE), str(HOUSING)}
    police = delivered[str(POLICE)]
    assert police["type"] == "sharing.delivery.complaint.logged.v1"
    assert police["subject"] == f"share.{DEMO_AREA_ID}.{POLICE}.complaint.logged.v1"
    assert police["source"] == "casebridge/sharing"
    assert set(police["data"]) == CORE | META
    assert police["data"]["disclosure_id"] == str(rows[POLICE].id)
    assert police["data"]["postcode_district"] == "SW1A"
    assert police["data"]["protocol_version"] == 1


async def test_consent_given_shares_who_and_where(protocol_v1: Sharing) -> None:
    envelope, event = complaint_logged(consent="given")
    await apply(protocol_v1, envelope, event)
    for payload in (await deliveries_by_agency(protocol_v1)).values():
        assert set(payload["data"]) == CORE_WITH_CONSENT | META
        assert payload["data"]["postcode"] == "SW1A 1AA"
        assert payload["data"]["person_id"] == str(event.person_id)
        assert payload["data"]["perpetrators"] == ["flat-3"]


async def test_the_case_is_indexed_once(protocol_v1: Sharing) -> None:
    envelope, event = complaint_logged()
    await apply(protocol_v1, envelope, event)
    async with protocol_v1.sessions() as session:
        case = await session.get(CaseIndex, event.reference)
    assert case is not None
    assert (case.kind, case.case_id, case.recorder_agency_id) == (
        "complaint",
        event.complaint_id,
        COUNCIL,
    )


@pytest.mark.parametrize("consent", ["refused", "withdrawn"])
async def test_refused_consent_delivers_nothing(protocol_v1: Sharing, consent: str) -> None:
    envelope, event = complaint_logged(consent=consent)
    await apply(protocol_v1, envelope, event)
    assert await deliveries_by_agency(protocol_v1) == {}
    rows = await disclosures(protocol_v1)
    assert set(rows) == {POLICE, HOUSING}
    for row in rows.values():
        assert (row.outcome, row.fields, row.protocol_version) == ("refused", [], 1)
        assert row.reason == f"no rule grants anything (consent {consent})"
    async with protocol_v1.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_without_a_protocol_nothing_is_shared(sharing: Sharing) -> None:
    envelope, event = complaint_logged(consent="given")
    await apply(sharing, envelope, event)
    assert await deliveries_by_agency(sharing) == {}
    for row in (await disclosures(sharing)).values():
        assert (row.outcome, row.protocol_version) == ("refused", None)
        assert row.reason == "no information-sharing protocol applies"


async def test_one_disclosures_recorded_event_names_every_partner(protocol_v1: Sharing) -> None:
    envelope, event = complaint_logged(receiving=POLICE)
    await apply(protocol_v1, envelope, event)
    (message,) = await outbox(protocol_v1, "sharing.disclosures.recorded.v1")
    assert message.subject == f"sharing.{DEMO_AREA_ID}.disclosures.recorded.v1"
    data = message.payload["data"]
    assert data["source_event_id"] == str(envelope.id)
    assert data["protocol_version"] == 1
    assert data["controller_agency_id"] == str(POLICE)
    rows = await disclosures(protocol_v1)
    assert {d["recipient_agency_id"] for d in data["disclosures"]} == {str(k) for k in rows}
    for made in data["disclosures"]:
        row = rows[next(k for k in rows if str(k) == made["recipient_agency_id"])]
        assert made["disclosure_id"] == str(row.id)
        assert made["fields"] == row.fields
        assert made["outcome"] == "delivered"
        assert made["purposes"] == ["asb_case_management"]
        assert made["recipient_kind"] in {"council", "housing"}
    assert "SW1A 1AA" not in str(message.payload)  # names, never values
    assert {str(k) for k in rows} == {str(COUNCIL), str(HOUSING)}


async def test_redelivery_creates_no_second_set_of_rows(protocol_v1: Sharing) -> None:
    envelope, event = complaint_logged()
    assert await apply(protocol_v1, envelope, event) is True
    before = len(await outbox(protocol_v1, "sharing.delivery.complaint.logged.v1"))
    assert await apply(protocol_v1, envelope, event) is False  # the inbox already has it
    assert len(await outbox(protocol_v1, "sharing.delivery.complaint.logged.v1")) == before
    assert len(await disclosures(protocol_v1)) == 2
    async with protocol_v1.sessions() as session:
        claims = await session.scalar(select(func.count()).select_from(ProcessedMessage))
    assert claims == 1


async def test_same_event_twice_without_inbox_is_refused_by_the_database(
    protocol_v1: Sharing,
) -> None:
    envelope, event = complaint_logged()
    async with protocol_v1.sessions() as session:
        await handlers.on_shareable(session, envelope, event)
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await handlers.on_shareable(session, envelope, event)


async def test_inactive_and_ungranted_partners(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    async with sharing.sessions() as session:
        await session.execute(update(Agency).where(Agency.id == HOUSING).values(active=False))
        health = Agency(area_id=DEMO_AREA_ID, name="Demo NHS Trust", kind="health")
        session.add(health)
        await session.commit()
    envelope, event = complaint_logged()
    await apply(sharing, envelope, event)
    rows = await disclosures(sharing)
    assert HOUSING not in rows
    assert OTHER_AGENCY not in rows
    assert rows[health.id].outcome == "refused"  # default deny: not a core partner
    assert rows[health.id].fields == []
    assert rows[health.id].reason == "no rule grants anything"
    assert set(await deliveries_by_agency(sharing)) == {str(POLICE)}


async def test_an_applied_review_is_indexed(sharing: Sharing) -> None:
    envelope, event = review_applied(received_by=POLICE)
    assert await apply(sharing, envelope, event)
    async with sharing.sessions() as session:
        case = await session.get(CaseIndex, event.reference)
    assert case is not None
    assert (case.kind, case.area_id, case.recorder_agency_id) == ("review", DEMO_AREA_ID, POLICE)
