from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.common.events.envelope import Envelope
from casebridge.common.events.models import OutboxMessage, ProcessedMessage
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing import handlers, worker
from casebridge.sharing.models import Agency, Delivery, Disclosure
from casebridge.sharing.settings import Settings

from .conftest import COUNCIL, HOUSING, OTHER_AGENCY, POLICE, Sharing, complaint_logged

CASE_FIELDS = {
    "reference",
    "complaint_id",
    "asb_type",
    "nsir_category",
    "hate_motivated",
    "occurred_at",
    "reported_at",
    "receiving_agency_id",
}


def runner(sharing: Sharing) -> ConsumerRunner:
    (consumer,) = worker.consumers(sharing.settings)
    link = NatsLink(sharing.settings.nats_url, name="test")  # never connected: _apply needs none
    return ConsumerRunner(consumer, link, sharing.sessions)


async def apply(sharing: Sharing, envelope: Envelope, event: ComplaintLogged) -> bool:
    """Run the handler exactly as the consumer runner does: inbox claim + effects, one commit."""
    consumer = runner(sharing)
    handler = consumer.consumer.handlers[envelope.type]
    return await consumer._apply(handler, envelope, event)


async def disclosures(sharing: Sharing) -> dict[Any, Disclosure]:
    async with sharing.sessions() as session:
        rows = (await session.scalars(select(Disclosure))).all()
    return {row.recipient_agency_id: row for row in rows}


async def outbox(sharing: Sharing, event_type: str) -> list[OutboxMessage]:
    async with sharing.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.event_type == event_type)
        )
        return list(rows.all())


async def deliveries_by_agency(sharing: Sharing) -> dict[str, dict[str, Any]]:
    """Delivery envelopes in the outbox, keyed by recipient agency (from the subject)."""
    messages = await outbox(sharing, "sharing.delivery.complaint.logged.v1")
    return {m.subject.split(".")[2]: m.payload for m in messages}


def test_consumer_listens_to_complaint_logged_on_intake() -> None:
    (consumer,) = worker.consumers(Settings())
    assert consumer.stream == "INTAKE"
    assert consumer.subjects == ["intake.*.complaint.logged.v1"]
    assert consumer.handlers == {"intake.complaint.logged.v1": handlers.on_complaint_logged}


async def test_complaint_is_delivered_to_each_other_agency(sharing: Sharing) -> None:
    envelope, event = complaint_logged(receiving=COUNCIL)
    assert await apply(sharing, envelope, event)
    rows = await disclosures(sharing)
    assert set(rows) == {POLICE, HOUSING}  # not the receiving council, not another area
    for row in rows.values():
        assert row.outcome == "delivered"
        assert row.source_event_id == envelope.id
        assert row.source_event_type == "intake.complaint.logged.v1"
        assert row.purpose == "asb_case_management"
        assert "s115" in row.legal_basis
    delivered = await deliveries_by_agency(sharing)
    assert set(delivered) == {str(POLICE), str(HOUSING)}
    police = delivered[str(POLICE)]
    assert police["type"] == "sharing.delivery.complaint.logged.v1"
    assert police["subject"] == f"share.{DEMO_AREA_ID}.{POLICE}.complaint.logged.v1"
    assert police["source"] == "casebridge/sharing"
    assert set(police["data"]) == CASE_FIELDS | {"postcode", "person_id", "disclosure_id"}
    assert police["data"]["disclosure_id"] == str(rows[POLICE].id)
    assert police["data"]["postcode"] == "SW1A 1AA"
    assert sorted(rows[POLICE].fields) == sorted(set(police["data"]) - {"disclosure_id"})


async def test_housing_gets_no_identifying_fields_without_consent(sharing: Sharing) -> None:
    envelope, event = complaint_logged(consent="not_asked")
    await apply(sharing, envelope, event)
    housing = (await deliveries_by_agency(sharing))[str(HOUSING)]["data"]
    assert set(housing) == CASE_FIELDS | {"disclosure_id"}
    serialised = str(housing)
    assert "SW1A" not in serialised
    assert str(event.person_id) not in serialised
    assert "postcode" not in (await disclosures(sharing))[HOUSING].fields


async def test_housing_gets_identifying_fields_with_consent(sharing: Sharing) -> None:
    envelope, event = complaint_logged(consent="given")
    await apply(sharing, envelope, event)
    housing = (await deliveries_by_agency(sharing))[str(HOUSING)]["data"]
    assert housing["postcode"] == "SW1A 1AA"
    assert housing["person_id"] == str(event.person_id)


async def test_unlisted_fields_reach_nobody(sharing: Sharing) -> None:
    envelope, event = complaint_logged(consent="given")
    await apply(sharing, envelope, event)
    for payload in (await deliveries_by_agency(sharing)).values():
        for field in ("channel", "anonymous", "perpetrator_keys", "consent_to_share", "area_id"):
            assert field not in payload["data"]
        assert "flat-3" not in str(payload)


@pytest.mark.parametrize("consent", ["refused", "withdrawn"])
async def test_refused_consent_delivers_nothing(sharing: Sharing, consent: str) -> None:
    envelope, event = complaint_logged(consent=consent)
    await apply(sharing, envelope, event)
    assert await deliveries_by_agency(sharing) == {}
    rows = await disclosures(sharing)
    assert set(rows) == {POLICE, HOUSING}
    assert {(r.outcome, tuple(r.fields)) for r in rows.values()} == {("refused", ())}
    async with sharing.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_disclosure_recorded_event_per_partner(sharing: Sharing) -> None:
    envelope, event = complaint_logged(receiving=POLICE)
    await apply(sharing, envelope, event)
    recorded = await outbox(sharing, "sharing.disclosure.recorded.v1")
    assert len(recorded) == 2
    rows = await disclosures(sharing)
    for message in recorded:
        data = message.payload["data"]
        assert message.subject == f"sharing.{DEMO_AREA_ID}.disclosure.recorded.v1"
        row = rows[next(k for k in rows if str(k) == data["recipient_agency_id"])]
        assert data["disclosure_id"] == str(row.id)
        assert data["fields"] == row.fields
        assert data["outcome"] == "delivered"
        assert data["purpose"] == "asb_case_management"
        assert data["recipient_kind"] in {"council", "housing"}
        assert "SW1A 1AA" not in str(message.payload)  # names, never values
    assert {str(k) for k in rows} == {str(COUNCIL), str(HOUSING)}


async def test_redelivery_creates_no_second_set_of_rows(sharing: Sharing) -> None:
    envelope, event = complaint_logged()
    assert await apply(sharing, envelope, event) is True
    before = len(await outbox(sharing, "sharing.delivery.complaint.logged.v1"))
    assert await apply(sharing, envelope, event) is False  # the inbox already has it
    assert len(await outbox(sharing, "sharing.delivery.complaint.logged.v1")) == before
    assert len(await disclosures(sharing)) == 2
    async with sharing.sessions() as session:
        claims = await session.scalar(select(func.count()).select_from(ProcessedMessage))
    assert claims == 1


async def test_same_event_twice_without_inbox_is_refused_by_the_database(sharing: Sharing) -> None:
    envelope, event = complaint_logged()
    async with sharing.sessions() as session:
        await handlers.on_complaint_logged(session, envelope, event)
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await handlers.on_complaint_logged(session, envelope, event)


async def test_inactive_and_unruled_partners(sharing: Sharing) -> None:
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
    assert rows[health.id].outcome == "refused"  # default deny: no rule for health yet
    assert rows[health.id].fields == []
    assert set(await deliveries_by_agency(sharing)) == {str(POLICE)}


async def test_disclosure_log_is_append_only(sharing: Sharing) -> None:
    envelope, event = complaint_logged()
    await apply(sharing, envelope, event)
    async with sharing.sessions() as session:
        for statement in (
            "UPDATE disclosure SET outcome = 'refused'",
            "DELETE FROM disclosure",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin_nested():
                    await session.execute(text(statement))
