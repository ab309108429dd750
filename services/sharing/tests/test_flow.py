"""Flow: a ComplaintLogged on JetStream -> the sharing consumer -> disclosures and outbox ->
the relay -> each partner's own `share.<area>.<agency>.>` subject on the SHARE stream."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.db import make_engine, make_sessionmaker, new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.common.events.models import OutboxMessage
from casebridge.common.events.relay import OutboxRelay, RelayConfig
from casebridge.common.isp.document import parse
from casebridge.devstack import NatsServer
from casebridge.sharing import protocol, worker
from casebridge.sharing.models import Agency, Area, Disclosure
from casebridge.sharing.settings import Settings
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll

from .conftest import as_app_role, complaint_logged, protocol_yaml


@pytest.fixture
async def committed(
    migrated_database: MigratedDatabase, settings: Settings, own_nats: NatsServer
) -> AsyncIterator[tuple[Settings, async_sessionmaker[AsyncSession]]]:
    # Its own nats-server: the durable consumer meets no other test's messages.
    database_url = await migrated_database("sharing")
    settings = settings.model_copy(
        update={
            "database_url": as_app_role(database_url),
            "migration_database_url": database_url,
            "nats_url": own_nats.url,
        }
    )
    engine = make_engine(settings)
    yield settings, make_sessionmaker(engine)
    await engine.dispose()


async def test_complaint_reaches_each_partner_subject(
    committed: tuple[Settings, async_sessionmaker[AsyncSession]],
) -> None:
    settings, sessions = committed
    # A fresh area, so no other test's messages share these subjects.
    area, council, police, housing = new_id(), new_id(), new_id(), new_id()
    async with sessions() as session:
        flow_area = Area(id=area, code=str(area)[-6:], name="Flow test area")
        session.add(flow_area)
        await session.flush()
        for agency_id, kind in ((council, "council"), (police, "police"), (housing, "housing")):
            # The housing provider is not a core partner here: it hears as the landlord.
            core = kind != "housing"
            session.add(Agency(id=agency_id, area_id=area, name=kind, kind=kind, core_partner=core))
        await protocol.publish_document(
            session,
            area=flow_area,
            protocol=parse(protocol_yaml()),
            by=protocol.Publisher("flow-test", "flow-test", None),
        )
        await session.commit()
    envelope, event = complaint_logged(
        receiving=council, area_id=area, consent="given", perpetrator_landlord_ids=[housing]
    )

    link = NatsLink(settings.nats_url, name="sharing-flow-test")
    await link.connect()
    consumer = worker.consumers(settings)[0]
    consumer = dataclasses.replace(consumer, name=f"sharing-flow-{area.hex[:12]}")
    runner = ConsumerRunner(consumer, link, sessions, fetch_timeout=0.2)
    engine = make_engine(settings)
    relay = OutboxRelay(engine, link, RelayConfig(service="sharing", poll_interval=0.1))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(relay.run(stop))]
    try:
        await link.js.publish(
            envelope.subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(envelope.id)},
        )

        async def shared_and_relayed() -> bool:
            async with sessions() as session:
                disclosed = await session.scalar(
                    select(func.count())
                    .select_from(Disclosure)
                    .where(Disclosure.source_event_id == envelope.id)
                )
                waiting = await session.scalar(select(func.count()).select_from(OutboxMessage))
            return disclosed == 2 and waiting == 0

        await poll(shared_and_relayed, timeout=20.0)
        received: dict[UUID, dict[str, object]] = {}
        for agency_id in (police, housing):
            message = await link.js.get_last_msg(
                "SHARE", f"share.{area}.{agency_id}.complaint.logged.v1"
            )
            received[agency_id] = json.loads(message.data or b"{}")["data"]
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await link.close()
        await engine.dispose()
    assert received[police]["postcode"] == event.postcode
    assert received[police]["person_id"] == str(event.person_id)
    assert received[police]["protocol_version"] == 1
    # The perpetrator's landlord learns what its tenant is said to have done, never who
    # complained, even with the victim's consent to share.
    assert "postcode" not in received[housing]
    assert "person_id" not in received[housing]
    assert received[housing]["reference"] == event.reference
    assert received[housing]["perpetrators"] == ["flat-3"]
