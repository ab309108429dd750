"""The webhook dispatcher SIGKILLed mid-flight (sharing's worker as a real process, a slow
receiver): nothing is lost, and a message posted twice is posted under its one webhook-id
(at least once). Only the messages in flight when it died are posted again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from uuid import UUID

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.common.events.envelope import Envelope
from casebridge.common.isp.document import Protocol, parse
from casebridge.devstack import NatsServer
from casebridge.sharing import protocol
from casebridge.sharing import worker as sharing_worker
from casebridge.sharing.endpoints import new_signing_secret
from casebridge.sharing.models import Agency, Area, WebhookEndpoint, WebhookMessage
from casebridge.sharing.settings import Settings as SharingSettings
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from casebridge.testing.webhooks import webhook_receiver
from tests.test_protocol_flow import _as_app_role
from tests.workers import WorkerProcess

pytestmark = pytest.mark.fault

MESSAGES = 40
BATCH = 5


async def test_dispatcher_sigkilled_mid_post_loses_nothing(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tmp_path: Path
) -> None:
    owner = await migrated_database("sharing")
    settings = SharingSettings(database_url=_as_app_role(owner), nats_url=own_nats.url)
    engine = create_async_engine(owner, poolclass=NullPool)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with webhook_receiver() as receiver:
        receiver.delay = 0.3
        await _owed(sessions, settings, receiver.url)
        worker = WorkerProcess(
            "sharing", settings, tmp_path, webhook_allow_loopback="true",
            webhook_batch_size=str(BATCH), webhook_lease_seconds="2",
        )  # fmt: skip
        worker.start()
        try:
            await poll(lambda: len(receiver.requests) >= 2 * BATCH, timeout=60, what="posts")
            worker.kill()  # mid-batch: a slow receiver holds the next batch's posts open
            worker.start()

            async def all_delivered() -> bool:
                async with sessions() as session:
                    delivered = await session.scalar(
                        select(func.count()).where(WebhookMessage.state == "delivered")
                    )
                return delivered == MESSAGES

            await poll(all_delivered, timeout=90, what="every message delivered")
        finally:
            if worker.alive():
                assert worker.stop() == 0, worker.log_tail()
    await engine.dispose()
    async with sessions() as session:
        ids = {str(i) for i in await session.scalars(select(WebhookMessage.id))}
    posted = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(posted) == ids  # nothing lost, nothing under another id
    again = [i for i, n in posted.items() if n > 1]
    assert len(again) <= BATCH, posted  # only what was in flight when it died
    print(f"{MESSAGES} messages, {len(again)} posted again after the kill")


async def _owed(
    sessions: async_sessionmaker[AsyncSession], settings: SharingSettings, url: str
) -> None:
    """An area whose police have a webhook, and MESSAGES complaints shared with them."""
    area, council, police = new_id(), new_id(), new_id()
    async with sessions() as session:
        session.add(Area(id=area, code=str(area)[-6:], name="Crash test area"))
        await session.flush()
        for agency_id, kind in ((council, "council"), (police, "police")):
            session.add(Agency(id=agency_id, area_id=area, name=kind, kind=kind, core_partner=True))
        await session.flush()
        session.add(
            WebhookEndpoint(id=new_id(), agency_id=police, url=url,
                            signing_secret=new_signing_secret())
        )  # fmt: skip
        await protocol.publish_document(
            session, area=(await session.get(Area, area)), protocol=_default_protocol(),
            by=protocol.Publisher("crash-test", "crash-test", None),
        )  # fmt: skip
        await session.commit()
    consumer = sharing_worker.consumers(settings)[0]
    runner = ConsumerRunner(consumer, NatsLink(settings.nats_url, name="t"), sessions)
    for n in range(MESSAGES):
        envelope, event = _logged(council, area, n)
        assert await runner._apply(consumer.handlers[envelope.type], envelope, event)


def _default_protocol() -> Protocol:
    text = files("casebridge.common.isp").joinpath("default.yaml").read_text()
    data = yaml.safe_load(text)
    data["review_date"] = (date.today() + timedelta(days=365)).isoformat()
    return parse(yaml.safe_dump(data))


def _logged(council: UUID, area: UUID, n: int) -> tuple[Envelope, ComplaintLogged]:
    event = ComplaintLogged(
        complaint_id=new_id(), reference=f"CRS-2026-{n:06d}-1", area_id=area,
        receiving_agency_id=council, person_id=None, channel="phone",
        nsir_category="personal", asb_type="noise", hate_motivated=False, anonymous=True,
        occurred_at=datetime.now(UTC), reported_at=datetime.now(UTC),
        consent_to_share="not_asked",
    )  # fmt: skip
    envelope = Envelope(
        source="casebridge/intake", type=ComplaintLogged.event_type(),
        subject=ComplaintLogged.subject_for(area), area_id=area,
        data=event.model_dump(mode="json"),
    )  # fmt: skip
    return envelope, event
