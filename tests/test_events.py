"""Outbox, relay and consumer guarantees (docs/requirements.md, NATS-R* and OBX-R*)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import nats
from nats.js.api import StorageType
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import Consumer, ConsumerRunner, ensure_consumer
from casebridge.common.events.envelope import Envelope
from casebridge.common.events.relay import OutboxRelay, RelayConfig
from casebridge.common.events.streams import DUPLICATE_WINDOW_SECONDS
from casebridge.devstack import NatsServer
from casebridge.testing.poll import poll
from tests.conftest import COMPLAINT, System, consumer_settled, scalar


def logged_event(**overrides: Any) -> ComplaintLogged:
    values: dict[str, Any] = {
        "complaint_id": uuid.uuid4(),
        "reference": "DMO-2026-000001-0",
        "area_id": uuid.uuid4(),
        "receiving_agency_id": uuid.uuid4(),
        "channel": "phone",
        "nsir_category": "personal",
        "asb_type": "noise",
        "occurred_at": "2026-11-20T23:30:00Z",
        "reported_at": "2026-11-21T09:00:00Z",
    }
    return ComplaintLogged.model_validate(values | overrides)


async def test_stream_config_is_asserted(system: System) -> None:
    """NATS-R1: file storage and a 120 s duplicate window."""
    link = NatsLink(system.intake.nats_url, name="t")
    await link.connect()
    info = await link.js.stream_info("INTAKE")
    await link.close()
    assert info.config.duplicate_window == DUPLICATE_WINDOW_SECONDS == 120.0
    assert StorageType(info.config.storage) == StorageType.FILE


async def test_same_outbox_row_published_twice_is_one_message(system: System) -> None:
    """NATS-R2 / OBX-R3: a re-publish of the same row id is dropped by the stream."""
    link = NatsLink(system.intake.nats_url, name="t")
    await link.connect()
    subject = f"intake.{uuid.uuid4()}.probe.v1"
    before = (await link.js.stream_info("INTAKE")).state.messages
    row_id = str(uuid.uuid4())
    first = await link.js.publish(subject, b"{}", stream="INTAKE", headers={"Nats-Msg-Id": row_id})
    second = await link.js.publish(subject, b"{}", stream="INTAKE", headers={"Nats-Msg-Id": row_id})
    after = (await link.js.stream_info("INTAKE")).state.messages
    await link.close()
    assert not first.duplicate
    assert second.duplicate
    assert after == before + 1


async def test_failed_commit_leaves_neither_complaint_nor_outbox_row(system: System) -> None:
    """OBX-R1: the outbox row and the state change commit or roll back together. A deferred
    trigger makes the COMMIT itself fail after both rows were written."""
    url = system.intake.database_url
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN"
                " RAISE EXCEPTION 'refused at commit'; END $$ LANGUAGE plpgsql"
            )
        )
        await conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON complaint"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )
    await engine.dispose()
    async with system.intake_client() as intake:
        response = await intake.post("/complaints", json=COMPLAINT)
    assert response.status_code == 500
    assert "refused" not in response.text  # no SQL or trace leaks to the client (API8)
    assert await system.outbox_size() == 0
    assert await scalar(url, "SELECT count(*) FROM complaint") == 0


async def test_row_committed_while_nats_is_down_waits_then_goes(
    system: System, own_nats: NatsServer
) -> None:
    """OBX-R1 / NATS-R3: with NATS down the row stays unsent; it goes once NATS is back."""
    async with system.intake_client() as intake:
        assert (await intake.post("/complaints", json=COMPLAINT)).status_code == 201
    engine = make_engine(system.intake)
    link = NatsLink(own_nats.url, name="t")
    await link.connect()
    relay = OutboxRelay(engine, link, RelayConfig(service="intake", publish_timeout=1.0))
    own_nats.kill()
    assert await relay.relay_once() == 0
    assert await system.outbox_size() == 1
    attempts = await scalar(
        system.intake.database_url,
        "SELECT attempts FROM outbox_message WHERE last_error IS NOT NULL",
    )
    assert attempts == 1
    own_nats.start()
    assert await link.wait_connected(timeout=15)

    async def relayed() -> bool:
        await relay.relay_once()
        return await system.outbox_size() == 0

    await poll(relayed, timeout=15, interval=0.3)
    await link.close()
    await engine.dispose()


async def test_out_of_order_commits_are_both_relayed(system: System) -> None:
    """OBX-R2: a row whose transaction began first but committed last is not skipped."""
    engine = create_async_engine(system.intake.database_url)
    insert = text(
        "INSERT INTO outbox_message (id, subject, event_type, aggregate_type, aggregate_id,"
        " payload, created_at) VALUES (:id, :subject, 'probe', 'probe', :agg, :payload,"
        " clock_timestamp())"
    )
    ids = [uuid.uuid4(), uuid.uuid4()]
    payload = json.dumps({"probe": True})
    params = [
        {"id": i, "subject": f"intake.{uuid.uuid4()}.probe.v1", "agg": str(i), "payload": payload}
        for i in ids
    ]
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await first.execute(insert, params[0])  # earlier created_at, commits last
        await second.begin()
        await second.execute(insert, params[1])
        await second.commit()
        link = NatsLink(system.intake.nats_url, name="t")
        await link.connect()
        relay = OutboxRelay(engine, link, RelayConfig(service="intake"))
        assert await relay.relay_once() == 1
        await first.commit()
    assert await relay.relay_once() == 1
    assert await system.outbox_size() == 0
    await link.close()
    await engine.dispose()


async def test_listen_connection_killed_rows_still_relayed(system: System) -> None:
    """OBX-R7: NOTIFY is a hint; with the LISTEN backend terminated, polling delivers."""
    async with system.intake_client() as intake, system.intake_worker():

        async def listening() -> bool:
            return bool(
                await scalar(
                    system.intake.database_url,
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'",
                )
            )

        await poll(listening)
        await scalar(
            system.intake.database_url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE query LIKE 'LISTEN%'",
        )
        assert (await intake.post("/complaints", json=COMPLAINT)).status_code == 201

        async def relayed() -> bool:
            return await system.outbox_size() == 0

        await poll(relayed, timeout=10)


class Consuming:
    """A consumer runner over the stats database and the test's own nats-server."""

    def __init__(self, system: System, consumer: Consumer) -> None:
        self.system = system
        self.consumer = consumer
        self.engine = make_engine(system.stats)
        self.link = NatsLink(system.stats.nats_url, name="t")
        self.runner = ConsumerRunner(
            consumer, self.link, make_sessionmaker(self.engine), fetch_timeout=0.5
        )
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Consuming:
        await self.link.connect()
        await ensure_consumer(self.link, self.consumer)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task
        await self.link.close()
        await self.engine.dispose()

    def run(self) -> None:
        self.task = asyncio.create_task(self.runner.run(self.stop))

    async def publish(self, envelope: Envelope) -> None:
        await self.link.js.publish(
            envelope.subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(envelope.id)},
        )

    async def settled(self) -> bool:
        return await consumer_settled(
            self.system.stats.nats_url, self.consumer.stream, self.consumer.name
        )

    async def dead_letter(self, **where: str) -> Any:
        column, value = next(iter(where.items()))
        return await scalar(
            self.system.stats.database_url,
            f"SELECT reason || ' / ' || deliveries FROM dead_letter WHERE {column} = :v",
            v=value,
        )


def envelope_of(event: ComplaintLogged) -> Envelope:
    return Envelope(
        source="test",
        type=event.event_type(),
        subject=event.subject_for(event.area_id),
        area_id=event.area_id,
        data=event.model_dump(mode="json"),
    )


def probe_consumer(
    name: str, area: uuid.UUID, handlers: dict[str, Any], **options: Any
) -> Consumer:
    """A consumer of its own area's subjects only, so no other test's event reaches it."""
    return Consumer(
        name=f"{name}-{area.hex[:8]}",
        stream="INTAKE",
        subjects=[f"intake.{area}.>"],
        handlers=handlers,
        **options,
    )


async def test_same_message_delivered_three_times_applies_once(system: System) -> None:
    """OBX-R4: the inbox turns redeliveries into no-ops; each is still acked."""
    from casebridge.stats import worker as stats_worker

    consumer = stats_worker.consumers(system.stats)[0]
    event = logged_event()
    envelope = envelope_of(event)
    async with Consuming(system, consumer) as consuming:
        handler = consumer.handlers[event.event_type()]
        results = [await consuming.runner._apply(handler, envelope, event) for _ in range(3)]
    assert results == [True, False, False]
    assert await system.stats_total() == 1


async def test_same_message_twice_in_one_batch_applies_once(system: System) -> None:
    """OBX-R4 with the batch's inbox claims in one statement: a message that comes twice in
    one batch (a redelivery fetched beside the first copy) is applied once, and stats adds
    each of the batch's other complaints to its own cell."""
    from casebridge.stats import worker as stats_worker

    consumer = stats_worker.consumers(system.stats)[0]
    area, agency = uuid.uuid4(), uuid.uuid4()
    events = [
        logged_event(area_id=area, receiving_agency_id=agency, asb_type=asb_type)
        for asb_type in ("noise", "noise", "begging")
    ]
    handler = consumer.handlers[events[0].event_type()]
    items = [(handler, envelope_of(event), event) for event in events]
    async with Consuming(system, consumer) as consuming:
        applied = await consuming.runner._apply_many([items[0], items[0], *items[1:]])()
        again = await consuming.runner._apply_many(items)()
    assert applied == [True, False, True, True]
    assert again == [False, False, False]
    cells = await scalar(
        system.stats.database_url,
        "SELECT string_agg(asb_type || '=' || complaints, ',' ORDER BY asb_type) "
        "FROM complaint_count WHERE area_id = :v",
        v=area,
    )
    assert cells == "begging=1,noise=2"


async def test_always_failing_handler_is_dead_lettered_after_max_deliver(system: System) -> None:
    """NATS-R4 / OBX-R8: delivered max_deliver times, then kept with its reason."""
    calls = 0

    async def broken(session: AsyncSession, envelope: Envelope, event: Any) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("handler cannot cope")

    event = logged_event(area_id=uuid.uuid4())
    consumer = probe_consumer(
        "broken",
        event.area_id,
        {event.event_type(): broken},
        max_deliver=3,
        ack_wait=5,
        backoff=[0.1, 0.1, 0.1],
    )
    async with Consuming(system, consumer) as consuming:
        consuming.run()
        await consuming.publish(envelope_of(event))

        async def dead_lettered() -> bool:
            return bool(await consuming.dead_letter(consumer_name=consumer.name))

        await poll(dead_lettered)
        await poll(consuming.settled)  # no fourth delivery can come after this
        reason = await consuming.dead_letter(consumer_name=consumer.name)
    assert calls == 3
    assert reason == "RuntimeError: handler cannot cope / 3"


async def test_a_fetched_batch_commits_once_and_a_poison_message_fails_alone(
    system: System,
) -> None:
    """A fetched batch is applied in one transaction. One message its handler refuses
    sends the batch back to one message per transaction: the others are applied exactly
    once (one inbox row each), the refused one is retried and dead-lettered alone."""
    area = uuid.uuid4()
    events = [logged_event(area_id=area) for _ in range(20)]
    poison = events[7].complaint_id
    transactions: list[int] = []

    async def handle(session: AsyncSession, envelope: Envelope, event: Any) -> None:
        transactions.append(int(await session.scalar(text("SELECT txid_current()")) or 0))
        if event.complaint_id == poison:
            raise RuntimeError("this one is poison")

    consumer = probe_consumer(
        "batched", area, {events[0].event_type(): handle},
        max_deliver=2, ack_wait=5, backoff=[0.1, 0.1],
    )  # fmt: skip
    async with Consuming(system, consumer) as consuming:
        for event in events:  # all stored before the runner's first fetch
            await consuming.publish(envelope_of(event))
        consuming.run()

        async def dead_lettered() -> bool:
            return bool(await consuming.dead_letter(consumer_name=consumer.name))

        await poll(dead_lettered)
        await poll(consuming.settled)  # no extra application can come after this
        reason = await consuming.dead_letter(consumer_name=consumer.name)
    inbox = await scalar(
        system.stats.database_url,
        "SELECT count(*) FROM processed_message WHERE consumer_name = :v",
        v=consumer.name,
    )
    assert inbox == 19  # every good message applied exactly once
    assert reason == "RuntimeError: this one is poison / 2"
    assert len(set(transactions)) > 2  # the shared pass, then one transaction per message


async def test_a_fetched_batch_shares_one_transaction(system: System) -> None:
    area = uuid.uuid4()
    events = [logged_event(area_id=area) for _ in range(10)]
    transactions: list[int] = []

    async def handle(session: AsyncSession, envelope: Envelope, event: Any) -> None:
        transactions.append(int(await session.scalar(text("SELECT txid_current()")) or 0))

    consumer = probe_consumer("one-commit", area, {events[0].event_type(): handle})
    async with Consuming(system, consumer) as consuming:
        for event in events:
            await consuming.publish(envelope_of(event))
        consuming.run()

        async def all_applied() -> bool:
            return len(transactions) == len(events)

        await poll(all_applied)
    assert len(set(transactions)) < len(events)


async def test_a_lone_message_is_applied_without_waiting_for_a_batch(system: System) -> None:
    """At a steady trickle a consumer applies each message as it comes: a fetch of a batch
    never holds one until the batch fills or the fetch times out."""
    area = uuid.uuid4()
    applied: list[uuid.UUID] = []

    async def handle(session: AsyncSession, envelope: Envelope, event: Any) -> None:
        applied.append(event.complaint_id)

    event = logged_event(area_id=area)
    consumer = probe_consumer("trickle", area, {event.event_type(): handle})
    async with Consuming(system, consumer) as consuming:
        consuming.runner.fetch_timeout = 8.0  # a batch's wait would outlast the deadline
        consuming.run()

        async def waiting() -> bool:  # the runner's pull request waits on an empty consumer
            info = await consuming.link.js.consumer_info(consumer.stream, consumer.name)
            return bool(info.num_waiting)

        await poll(waiting)
        await consuming.publish(envelope_of(event))

        async def done() -> bool:
            return applied == [event.complaint_id]

        await poll(done, timeout=4.0)


async def test_unparseable_event_is_terminated_and_dead_lettered(system: System) -> None:
    """API10: invalid payloads are refused into the dead-letter table, not a crash loop."""
    area = uuid.uuid4()
    consumer = probe_consumer("strict", area, {}, max_deliver=3)
    async with Consuming(system, consumer) as consuming:
        consuming.run()
        await consuming.link.js.publish(f"intake.{area}.complaint.logged.v1", b"not json at all")

        async def dead_lettered() -> bool:
            return bool(await consuming.dead_letter(consumer_name=consumer.name))

        await poll(dead_lettered)
        reason = await consuming.dead_letter(consumer_name=consumer.name)
    assert reason.startswith("unparseable event")


async def test_crash_after_commit_before_ack_is_a_no_op_on_redelivery(system: System) -> None:
    """NATS-R5: the effects committed but the ack never went (the process died between);
    the redelivered message finds its inbox row and changes nothing."""
    from casebridge.stats import worker as stats_worker

    stats = stats_worker.consumers(system.stats)[0]
    consumer = Consumer(
        stats.name, stats.stream, stats.subjects, stats.handlers, max_deliver=5, ack_wait=1.0
    )
    event = logged_event()

    def duplicates() -> float:
        labels = {"consumer": consumer.name, "outcome": "duplicate"}
        return REGISTRY.get_sample_value("casebridge_consumer_messages_total", labels) or 0.0

    envelope = envelope_of(event)
    async with Consuming(system, consumer) as consuming:
        await consuming.publish(envelope)
        dying = await consuming.link.js.pull_subscribe_bind(consumer.name, stream=consumer.stream)
        (first,) = await dying.fetch(1, timeout=5)
        handler = consumer.handlers[event.event_type()]
        assert await consuming.runner._apply(handler, envelope, event) is True
        await dying.unsubscribe()  # committed, never acked: the process is gone
        before = duplicates()
        consuming.run()

        async def settled() -> bool:
            info = await consuming.link.js.consumer_info(consumer.stream, consumer.name)
            return info.num_ack_pending == 0 and info.num_pending == 0 and duplicates() > before

        await poll(settled, timeout=15)
    assert first.metadata.num_delivered == 1
    assert await system.stats_total() == 1


async def test_deliveries_exhausted_by_crashes_are_dead_lettered(system: System) -> None:
    """NATS-R4: when every delivery dies with its process, no handler can dead-letter the
    message; JetStream's max-deliveries advisory does, and the runner records it."""
    event = logged_event(area_id=uuid.uuid4())
    envelope = envelope_of(event)
    consumer = probe_consumer(
        "crashy", event.area_id, {}, max_deliver=2, ack_wait=0.5, backoff=[0.1]
    )
    async with Consuming(system, consumer) as consuming:
        await consuming.runner.watch_exhausted()
        await consuming.publish(envelope)
        doomed = await consuming.link.js.pull_subscribe_bind(consumer.name, stream=consumer.stream)
        for _ in range(2):  # taken, then the "process" dies before it can ack
            await doomed.fetch(1, timeout=5)
        # The server notices the exhaustion when it would deliver again: ask once more.
        with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
            await doomed.fetch(1, timeout=2)

        async def dead_lettered() -> bool:
            return bool(await consuming.dead_letter(message_id=str(envelope.id)))

        await poll(dead_lettered, timeout=15)
        reason = await consuming.dead_letter(message_id=str(envelope.id))
    assert "without an ack" in reason
