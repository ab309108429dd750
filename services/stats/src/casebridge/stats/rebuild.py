"""Rebuild the read models: wipe them, then replay every stream stats consumes from its first
message through the same handlers and inbox as the worker.

Safe beside a running worker: the wipe takes the read models' locks (so a worker transaction
in flight commits before it, or after it into the emptied tables), and each message is
claimed in the inbox under the worker's own consumer name, so a message the worker applies
meanwhile is skipped by the replay and the other way round. While it runs, answers are
incomplete. A stream that no longer holds its first messages (they aged out: streams keep
90 days) cannot give back what it lost: the rebuild refuses unless told to accept that."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import delete, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from casebridge.common.db import make_engine, make_sessionmaker, new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import Consumer, ConsumerRunner
from casebridge.stats.models import READ_MODELS, ProcessedMessage
from casebridge.stats.settings import Settings
from casebridge.stats.worker import consumers

log = logging.getLogger(__name__)

# (stream, messages to replay) when a stream starts; (stream, messages done) as it goes.
Started = Callable[[str, int], None]
Advanced = Callable[[str, int], None]


class HistoryLost(Exception):
    """A stream no longer holds every message it ever had."""


@dataclass(frozen=True)
class Replayed:
    stream: str
    messages: int


async def check_history(link: NatsLink, wanted: list[Consumer]) -> list[str]:
    """The streams whose first messages are gone (aged out or deleted)."""
    lost = []
    for consumer in wanted:
        state = (await link.js.stream_info(consumer.stream)).state
        if state.first_seq > 1 or (state.num_deleted or 0) > 0:
            lost.append(f"{consumer.stream} (first message now #{state.first_seq})")
    return lost


async def wipe(sessionmaker: async_sessionmaker[AsyncSession], names: list[str]) -> None:
    """Empty every read model and forget which messages the consumers applied, in one
    transaction (retried if it deadlocks with a worker's)."""
    tables = ", ".join(model.__tablename__ for model in READ_MODELS)
    for attempt in range(10):
        try:
            async with sessionmaker() as session, session.begin():
                await session.execute(text(f"TRUNCATE {tables}"))
                await session.execute(
                    delete(ProcessedMessage).where(ProcessedMessage.consumer_name.in_(names))
                )
            return
        except DBAPIError as exc:
            if "deadlock" not in str(exc).lower() or attempt == 9:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))


async def replay(
    link: NatsLink,
    sessionmaker: async_sessionmaker[AsyncSession],
    consumer: Consumer,
    *,
    started: Started,
    advanced: Advanced,
    batch_size: int = 256,
) -> Replayed:
    """Every message of the consumer's subjects from the stream's start, applied as the
    worker applies them, through an ephemeral consumer of our own."""
    js = link.js
    last = (await js.stream_info(consumer.stream)).state.last_seq
    name = f"stats-rebuild-{new_id().hex[:12]}"
    await js.add_consumer(
        consumer.stream,
        ConsumerConfig(
            name=name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=consumer.ack_wait,
            max_deliver=consumer.max_deliver,
            max_ack_pending=batch_size * 4,
            filter_subjects=consumer.subjects,
            inactive_threshold=300.0,
        ),
    )
    runner = ConsumerRunner(consumer, link, sessionmaker, batch_size=batch_size)
    subscription = await js.pull_subscribe_bind(name, stream=consumer.stream)
    info = await js.consumer_info(consumer.stream, name)
    started(consumer.stream, int(info.num_pending or 0))
    done, seen = 0, 0
    try:
        while True:
            try:
                messages = list(await subscription.fetch(batch_size, timeout=1.0))
            except (NatsTimeout, TimeoutError):
                messages = []
            if messages:
                await runner.process_batch(messages)
                done += len(messages)
                seen = max(seen, max(m.metadata.sequence.stream for m in messages))
                advanced(consumer.stream, len(messages))
                continue
            info = await js.consumer_info(consumer.stream, name)
            if (info.num_pending == 0 or seen >= last) and info.num_ack_pending == 0:
                return Replayed(consumer.stream, done)
    finally:
        await subscription.unsubscribe()
        await js.delete_consumer(consumer.stream, name)


async def rebuild(
    settings: Settings,
    *,
    allow_partial: bool,
    started: Started,
    advanced: Advanced,
    engine: AsyncEngine | None = None,
) -> list[Replayed]:
    wanted = consumers(settings)
    link = NatsLink(
        settings.nats_url, name="stats-rebuild", stream_replicas=settings.stream_replicas
    )
    await link.connect()
    own_engine = engine is None
    engine = engine or make_engine(settings)
    try:
        lost = await check_history(link, wanted)
        if lost and not allow_partial:
            raise HistoryLost(
                "these streams no longer hold their first messages, so a rebuild would lose "
                f"the counts made from them: {', '.join(lost)} (--allow-partial to go on)"
            )
        sessionmaker = make_sessionmaker(engine)
        await wipe(sessionmaker, [c.name for c in wanted])
        return [
            await replay(link, sessionmaker, c, started=started, advanced=advanced) for c in wanted
        ]
    finally:
        await link.close()
        if own_engine:
            await engine.dispose()
