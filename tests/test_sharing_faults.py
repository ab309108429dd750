"""Count equality with faults (issue 10): 2,000 logged complaints are shared by the sharing
worker (a real OS process) while it is SIGKILLed mid-consume and nats-server is SIGKILLed
mid-run, twice. Afterwards, per recipient: disclosures logged == deliveries made on each
channel (the messages on its NATS subjects, the rows its feed pages through), the same
deliveries by id on every channel, none twice, none lost."""

from __future__ import annotations

import asyncio
import functools
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from uuid import UUID

import nats
import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import make_engine, make_sessionmaker, new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.envelope import Envelope
from casebridge.common.events.models import OutboxMessage
from casebridge.common.isp.document import validate
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.sharing import protocol
from casebridge.sharing.main import create_app
from casebridge.sharing.models import Agency, Area, Delivery, Disclosure
from casebridge.sharing.settings import Settings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from casebridge.testing.tokens import TokenFactory
from tests.conftest import consumer_settled
from tests.workers import WorkerProcess

pytestmark = pytest.mark.fault

N = 2000
COUNCIL, _ = DEMO_AGENCIES["council"]
PARTNERS = [DEMO_AGENCIES["police"][0], DEMO_AGENCIES["housing"][0]]


def default_protocol() -> dict[str, object]:
    text = files("casebridge.common.isp").joinpath("default.yaml").read_text()
    document: dict[str, object] = yaml.safe_load(text)
    return document | {"review_date": date.today() + timedelta(days=365)}


def complaint(i: int) -> Envelope:
    """A complaint the council logged, as intake's relay publishes it; one in five with
    consent refused (a disclosure refused, no delivery)."""
    consent = "refused" if i % 5 == 0 else ("given" if i % 2 else "not_asked")
    event = ComplaintLogged(
        complaint_id=new_id(),
        reference=f"DMO-2026-{i:06d}-1",
        area_id=DEMO_AREA_ID,
        receiving_agency_id=COUNCIL,
        person_id=new_id(),
        channel="phone",
        nsir_category="personal",
        asb_type="noise",
        occurred_at=datetime(2026, 11, 20, 23, 30, tzinfo=UTC),
        reported_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        postcode="SW1A 1AA",
        consent_to_share=consent,
    )
    return Envelope(
        source="casebridge/intake",
        type=ComplaintLogged.event_type(),
        subject=ComplaintLogged.subject_for(DEMO_AREA_ID),
        area_id=DEMO_AREA_ID,
        data=event.model_dump(mode="json"),
    )


async def seed(settings: Settings) -> None:
    """The demo area: three core partners and the default protocol (committed)."""
    engine = make_engine(settings.model_copy(update={"database_url": settings.owner_database_url}))
    async with make_sessionmaker(engine)() as session:
        area = Area(id=DEMO_AREA_ID, code=DEMO_AREA_CODE, name=DEMO_AREA_NAME)
        session.add(area)
        await session.flush()
        for kind, (agency_id, name) in DEMO_AGENCIES.items():
            session.add(
                Agency(id=agency_id, area_id=DEMO_AREA_ID, name=name, kind=kind, core_partner=True)
            )
        await protocol.publish_document(
            session,
            area=area,
            protocol=validate(default_protocol()),
            by=protocol.Publisher("fault-test", "fault-test", None),
        )
        await session.commit()
    await engine.dispose()


async def acknowledged(link: NatsLink, envelope: Envelope) -> bool:
    try:
        await link.js.publish(
            envelope.subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(envelope.id)},
            timeout=2,
        )
    except (nats.errors.Error, TimeoutError, OSError, AssertionError):
        return False
    return True


async def publish(link: NatsLink, numbers: range) -> None:
    """Each until JetStream acknowledges it (the server may be restarting)."""
    for i in numbers:
        envelope = complaint(i)
        await poll(
            functools.partial(acknowledged, link, envelope),
            timeout=60,
            what=f"complaint {i} published",
        )


async def counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """(disclosures, outbox rows left to publish)."""
    async with sessions() as session:
        disclosed = await session.scalar(select(func.count()).select_from(Disclosure))
        waiting = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return int(disclosed or 0), int(waiting or 0)


async def shared_by_nats(url: str) -> dict[UUID, Counter[str]]:
    """Every delivery message on SHARE, by recipient: its envelope ids, with repeats."""
    nc = await nats.connect(url)
    found: dict[UUID, Counter[str]] = {}
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe("share.>", durable="fault-count", stream="SHARE")
        while True:
            try:
                messages = await subscription.fetch(500, timeout=2)
            except (nats.errors.TimeoutError, TimeoutError):
                break  # nothing more on the stream
            for message in messages:
                agency = UUID(message.subject.split(".")[2])
                found.setdefault(agency, Counter())[json.loads(message.data)["id"]] += 1
                await message.ack()
    finally:
        await nc.close()
    return found


async def shared_by_feed(settings: Settings, tokens: TokenFactory, agency: UUID) -> Counter[str]:
    """The agency's feed, paged from the start as its system would."""
    headers = tokens.headers(
        scopes=["shares:read"],
        agency_id=agency,
        area_id=DEMO_AREA_ID,
        audience=settings.audience_or_default(),
    )
    seen: Counter[str] = Counter()
    async with committed_client(create_app, settings, tokens) as client:
        after = 0
        while True:
            page = (
                await client.get("/feed", params={"after": after, "limit": 100}, headers=headers)
            ).json()
            if not page["items"]:
                return seen
            seen.update(item["id"] for item in page["items"])
            after = page["cursor"]


async def test_disclosures_equal_deliveries_per_channel_with_worker_and_nats_killed(
    migrated_database: MigratedDatabase,
    own_nats: NatsServer,
    tokens: TokenFactory,
    tmp_path: Path,
) -> None:
    owner = await migrated_database("sharing")
    app_url = make_url(owner).set(username=Settings().app_role)
    settings = Settings(
        database_url=app_url.render_as_string(hide_password=False),
        migration_database_url=owner,
        nats_url=own_nats.url,
        log_json=False,
        signing_key_file=tmp_path / "signing-key.json",
        data_dir=tmp_path,
    )
    await seed(settings)
    worker = WorkerProcess(
        "sharing", settings, tmp_path, consumer_batch_size="32", relay_batch_size="100"
    )
    link = NatsLink(own_nats.url, name="fault-publisher")
    await link.connect()
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    try:
        await publish(link, range(N // 2))
        worker.start()

        async def sharing_begun() -> bool:
            return (await counts(sessions))[0] > 2 * 200

        await poll(sharing_begun, timeout=60, interval=0.05)
        worker.kill()  # mid-consume: a batch committed and not acked, one in flight
        at_first_kill = await counts(sessions)
        own_nats.kill()  # and the server, with deliveries waiting in the outbox
        await asyncio.to_thread(own_nats.start)
        worker.start()
        await publish(link, range(N // 2, N))

        async def halfway() -> bool:
            return (await counts(sessions))[0] > 2 * (N // 2 + 200)

        await poll(halfway, timeout=90, interval=0.05)
        own_nats.kill()  # the worker's relay and consumer lose the server mid-run
        at_second_kill = await counts(sessions)
        await asyncio.to_thread(own_nats.start)

        async def settled() -> bool:
            disclosed, waiting = await counts(sessions)
            return (
                disclosed == 2 * N
                and waiting == 0
                and await consumer_settled(own_nats.url, "INTAKE", "sharing-complaints")
            )

        await poll(settled, timeout=120, interval=0.25)
        assert worker.alive(), worker.log_tail()
    finally:
        if worker.alive():
            worker.stop()
        await link.close()
    assert at_first_kill[0] < N, "the worker was killed mid-run"
    assert at_second_kill[0] < 2 * N, "nats-server was killed mid-run"
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Disclosure.recipient_agency_id, Disclosure.outcome, Delivery.id).outerjoin(
                    Delivery, Delivery.disclosure_id == Disclosure.id
                )
            )
        ).all()
    await engine.dispose()
    by_nats = await shared_by_nats(own_nats.url)
    assert {recipient for recipient, _, _ in rows} == set(PARTNERS)  # the council: no copy
    for agency in PARTNERS:
        mine = [(outcome, delivery) for recipient, outcome, delivery in rows if recipient == agency]
        delivered = {str(d) for outcome, d in mine if outcome == "delivered"}
        assert len(mine) == N, "one disclosure per event, none lost, none twice"
        assert all((d is None) == (o == "refused") for o, d in mine)
        assert len(delivered) == N - N // 5  # consent refused: disclosed as refused only
        assert set(by_nats[agency]) == delivered, "NATS: the same deliveries"
        assert max(by_nats[agency].values()) == 1, "NATS: none twice"
        by_feed = await shared_by_feed(settings, tokens, agency)
        assert set(by_feed) == delivered, "feed: the same deliveries"
        assert max(by_feed.values()) == 1, "feed: none twice"
    print(
        f"\nissue 10: N={N} events, sharing worker started {worker.starts}x (SIGKILLed once), "
        f"nats-server SIGKILLed twice; per partner {N} disclosures, "
        f"{N - N // 5} deliveries on NATS and in the feed, none twice"
    )
