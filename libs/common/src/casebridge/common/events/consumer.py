"""Durable pull consumers: parse, claim the inbox row, run the handler, commit, then ack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, NotFoundError
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import Uuid, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.db import new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.envelope import Contract, Envelope, contract_for
from casebridge.common.events.errors import is_infrastructure_error, retry_while_unavailable
from casebridge.common.events.pull import ConsumerGone, Pull

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]
# Applies a batch's fresh messages, in order, in place of their handlers one by one.
BatchHandler = Callable[[AsyncSession, list[tuple[Envelope, Any]]], Awaitable[None]]
# A message to apply: the message, its handler, its envelope and its contract.
_Work = tuple[Msg, Handler, Envelope, Contract]

HANDLED = Counter(
    "casebridge_consumer_messages_total", "Messages seen by consumers", ["consumer", "outcome"]
)

# Every message id of a batch claimed in one statement; the ids returned are fresh.
_CLAIM_INBOX = text(
    "INSERT INTO processed_message (consumer_name, message_id) "
    "SELECT :consumer, unnest(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING "
    "RETURNING message_id"
).columns(message_id=Uuid())


@dataclass(frozen=True)
class Consumer:
    """A durable consumer: which stream and subjects, and a handler per event type."""

    name: str
    stream: str
    subjects: list[str]
    handlers: Mapping[str, Handler]
    max_deliver: int = 10
    ack_wait: float = 30.0
    backoff: list[float] = field(default_factory=lambda: [1, 2, 5, 10, 30])
    # False: a dead letter keeps the message id, subject and the error's type, never the
    # payload nor the input values an error message quotes (stats holds no personal data,
    # LEG-R8); the message itself stays in its stream, found by its id.
    keep_payloads: bool = True
    # Set: a batch's fresh messages go to this one function (a consumer whose effects add
    # up, like counters, writes them once per batch); `handlers` still says which event
    # types it acts on.
    apply_batch: BatchHandler | None = None

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
            max_ack_pending=1000,
            filter_subjects=self.subjects if len(self.subjects) > 1 else None,
            filter_subject=self.subjects[0] if len(self.subjects) == 1 else None,
        )

    def delay_after(self, deliveries: int) -> float:
        return self.backoff[min(deliveries, len(self.backoff)) - 1]


def consumer_of(
    name: str,
    stream: str,
    handled: Mapping[type[Contract], Handler],
    *,
    max_deliver: int = 10,
    ack_wait: float = 30.0,
    keep_payloads: bool = True,
    apply_batch: BatchHandler | None = None,
) -> Consumer:
    """The one way a service declares a consumer: a durable consumer of exactly the
    subjects of the contracts it handles (any area), so JetStream never sends it an event
    it would only ack."""
    return Consumer(
        name=name,
        stream=stream,
        subjects=[contract.subject_for("*") for contract in handled],
        handlers={contract.event_type(): handler for contract, handler in handled.items()},
        max_deliver=max_deliver,
        ack_wait=ack_wait,
        keep_payloads=keep_payloads,
        apply_batch=apply_batch,
    )


async def ensure_consumer(link: NatsLink, consumer: Consumer) -> None:
    js = link.js
    try:
        await js.consumer_info(consumer.stream, consumer.name)
        await js.add_consumer(consumer.stream, consumer.config())  # updates mutable fields
    except NotFoundError:
        await js.add_consumer(consumer.stream, consumer.config())


class ConsumerRunner:
    """Runs one durable consumer until `stop` is set, surviving NATS and database restarts."""

    def __init__(
        self,
        consumer: Consumer,
        link: NatsLink,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        batch_size: int = 64,
        fetch_timeout: float = 1.0,
    ) -> None:
        self.consumer = consumer
        self.link = link
        self.sessionmaker = sessionmaker
        self.batch_size = batch_size
        self.fetch_timeout = fetch_timeout
        self._watching = False

    async def run(self, stop: asyncio.Event) -> None:
        pull: Pull | None = None
        generation = -1
        try:
            while not stop.is_set():
                if not await self.link.wait_connected(timeout=1.0):
                    continue
                try:
                    if not self._watching:
                        await self.watch_exhausted()  # a core subscription: survives reconnects
                        self._watching = True
                    if pull is None or generation != self.link.generation:
                        # Pull requests do not survive a server restart: start again.
                        generation = self.link.generation
                        if pull is not None:
                            await pull.stop()
                        await ensure_consumer(self.link, self.consumer)
                        assert self.link.nc is not None
                        pull = Pull(
                            self.link.nc,
                            self.consumer.stream,
                            self.consumer.name,
                            batch=self.batch_size,
                        )
                        await pull.start()
                    messages = await pull.next_batch(self.fetch_timeout)
                except (
                    APIError,
                    ConnectionClosedError,
                    ConsumerGone,
                    NatsTimeout,
                    TimeoutError,
                    OSError,
                ) as exc:
                    log.warning("consumer %s: %s; re-subscribing", self.consumer.name, exc)
                    if pull is not None:
                        await pull.stop()
                    pull = None
                    await asyncio.sleep(0.5)
                    continue
                await self.process_batch(messages, stop)
        finally:
            if pull is not None:
                await pull.stop()

    async def process_batch(self, messages: list[Msg], stop: asyncio.Event | None = None) -> None:
        """A fetched batch: the messages this consumer acts on are applied in ONE
        transaction (one commit instead of one per message), then acked. If that fails for
        a reason of its own (a message its handler refuses), the batch is applied again one
        message per transaction, so only the faulty message is retried or dead-lettered; an
        outage is waited out in place. The inbox makes the second pass a no-op for messages
        whose effects had committed."""
        work = [w for w in [await self._parse(m, stop) for m in messages] if w is not None]
        if len(work) > 1:
            try:
                applied = await self._apply_with_retry(
                    self._apply_many([w[1:] for w in work]), work, stop
                )
            except Exception as exc:
                log.warning(
                    "consumer %s: a batch of %d failed (%s); applying one at a time",
                    self.consumer.name,
                    len(work),
                    exc,
                )
            else:
                for (message, _, _, _), done in zip(work, applied, strict=True):
                    await message.ack()
                    HANDLED.labels(self.consumer.name, "applied" if done else "duplicate").inc()
                return
        for item in work:
            await self._process_one(item, stop)

    async def _parse(self, message: Msg, stop: asyncio.Event | None) -> _Work | None:
        """The message's handler and contract; None when there is nothing to apply (an
        unparseable message is dead-lettered, one this consumer ignores is acked)."""
        name = self.consumer.name
        try:
            envelope = Envelope.model_validate_json(message.data)
            contract = contract_for(envelope.type)
            data: Contract | None = (
                contract.model_validate(envelope.data) if contract is not None else None
            )
        except ValidationError as exc:
            await self._dead_letter(message, f"unparseable event: {exc}", stop)
            await message.term()
            HANDLED.labels(name, "unparseable").inc()
            return None
        handler = self.consumer.handlers.get(envelope.type)
        if handler is None or data is None:
            await message.ack()  # not an event this consumer acts on
            HANDLED.labels(name, "ignored").inc()
            return None
        return message, handler, envelope, data

    async def _process_one(self, work: _Work, stop: asyncio.Event | None) -> None:
        name = self.consumer.name
        message = work[0]
        try:
            (applied,) = await self._apply_with_retry(self._apply_many([work[1:]]), [work], stop)
        except Exception as exc:
            await self._failed(message, exc, stop)
            return
        await message.ack()
        HANDLED.labels(name, "applied" if applied else "duplicate").inc()

    async def _apply_with_retry(
        self,
        apply: Callable[[], Awaitable[list[bool]]],
        work: list[_Work],
        stop: asyncio.Event | None,
    ) -> list[bool]:
        delay = 0.2
        while True:
            try:
                return await apply()
            except Exception as exc:
                if not is_infrastructure_error(exc):
                    raise
                if stop is not None and stop.is_set():
                    raise
                log.warning(
                    "consumer %s: database unavailable (%s); retrying in place",
                    self.consumer.name,
                    type(exc).__name__,
                )
                # Keep the messages ours while we wait; if NATS is away too, redelivery is fine.
                for message, _, _, _ in work:
                    with contextlib.suppress(Exception):
                        await message.in_progress()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _apply(self, handler: Handler, envelope: Envelope, data: Contract) -> bool:
        """One message in a transaction of its own: True if its effects were applied."""
        (applied,) = await self._apply_many([(handler, envelope, data)])()
        return applied

    def _apply_many(
        self, items: list[tuple[Handler, Envelope, Contract]]
    ) -> Callable[[], Awaitable[list[bool]]]:
        """One transaction: each message's inbox claim and its handler's effects, in order,
        commit together. A message already applied is skipped (OBX-R4) and still acked."""

        async def apply() -> list[bool]:
            ids = [envelope.id for _, envelope, _ in items]
            async with self.sessionmaker() as session, session.begin():
                claimed = await session.scalars(
                    _CLAIM_INBOX, {"consumer": self.consumer.name, "ids": ids}
                )
                fresh = set(claimed)
                applied = []
                for event_id in ids:
                    applied.append(event_id in fresh)
                    fresh.discard(event_id)  # the same message twice in a batch: once
                todo = [item for item, new in zip(items, applied, strict=True) if new]
                await self._run_handlers(session, todo)
            return applied

        return apply

    async def _run_handlers(
        self, session: AsyncSession, todo: list[tuple[Handler, Envelope, Contract]]
    ) -> None:
        if self.consumer.apply_batch is not None:
            if todo:
                await self.consumer.apply_batch(session, [(env, data) for _, env, data in todo])
            return
        for handler, envelope, data in todo:
            await handler(session, envelope, data)

    async def _failed(self, message: Msg, exc: Exception, stop: asyncio.Event | None) -> None:
        deliveries = message.metadata.num_delivered or 1
        reason = f"{type(exc).__name__}: {exc}"
        if deliveries >= self.consumer.max_deliver:
            log.error(
                "consumer %s: dead-lettering after %d deliveries: %s",
                self.consumer.name,
                deliveries,
                reason,
            )
            await self._dead_letter(message, reason, stop)
            await message.term()
            HANDLED.labels(self.consumer.name, "dead_lettered").inc()
        else:
            log.warning(
                "consumer %s: delivery %d failed: %s", self.consumer.name, deliveries, reason
            )
            await message.nak(delay=self.consumer.delay_after(deliveries))
            HANDLED.labels(self.consumer.name, "failed").inc()

    async def _dead_letter(self, message: Msg, reason: str, stop: asyncio.Event | None) -> None:
        keep = self.consumer.keep_payloads
        await record_dead_letter(
            self.sessionmaker,
            consumer_name=self.consumer.name,
            message_id=(message.headers or {}).get("Nats-Msg-Id"),
            subject=message.subject,
            raw=message.data if keep else b"",
            reason=reason if keep else _without_values(reason),
            deliveries=message.metadata.num_delivered or 1,
            stop=stop,
        )

    async def watch_exhausted(self) -> None:
        """Messages whose every delivery died with its process (no handler ever got to
        dead-letter them) are announced by JetStream's max-deliveries advisory (NATS-R4):
        record them too, so nothing is dropped silently."""
        assert self.link.nc is not None
        subject = (
            f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{self.consumer.stream}."
            f"{self.consumer.name}"
        )
        await self.link.nc.subscribe(subject, cb=self._on_exhausted)

    async def _on_exhausted(self, advisory: Msg) -> None:
        try:
            notice = json.loads(advisory.data)
            stored = await self.link.js.get_msg(self.consumer.stream, int(notice["stream_seq"]))
        except (ValueError, KeyError, APIError, NatsTimeout, TimeoutError) as exc:
            log.error(
                "consumer %s: unreadable max-deliveries advisory: %s", self.consumer.name, exc
            )
            return
        await record_dead_letter(
            self.sessionmaker,
            consumer_name=self.consumer.name,
            message_id=(stored.headers or {}).get("Nats-Msg-Id"),
            subject=stored.subject or "",
            raw=(stored.data or b"") if self.consumer.keep_payloads else b"",
            reason=f"delivered {notice.get('deliveries')} times without an ack (max_deliver)",
            deliveries=int(notice.get("deliveries") or 0),
            stop=None,
        )
        HANDLED.labels(self.consumer.name, "exhausted").inc()


def _without_values(reason: str) -> str:
    """The kind of error without what it quotes (`unparseable event`, `KeyError`)."""
    return reason.split(":", 1)[0][:200]


_DEAD_LETTER = text(
    """
    INSERT INTO dead_letter (id, direction, consumer_name, message_id, subject, raw, reason,
                             deliveries)
    SELECT :id, 'inbound', CAST(:consumer AS varchar), CAST(:message_id AS varchar),
           :subject, :raw, :reason, :deliveries
    WHERE NOT EXISTS (SELECT 1 FROM dead_letter WHERE consumer_name = CAST(:consumer AS varchar)
                      AND message_id = CAST(:message_id AS varchar))
    """
)


async def record_dead_letter(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    consumer_name: str,
    message_id: str | None,
    subject: str,
    raw: bytes,
    reason: str,
    deliveries: int,
    stop: asyncio.Event | None,
) -> None:
    """Keep a message that could not be handled, with its reason; once per message."""
    params = {
        "id": new_id(),
        "consumer": consumer_name,
        "message_id": message_id,
        "subject": subject,
        "raw": raw.decode("utf-8", errors="replace")[:100_000] if raw else None,
        "reason": reason[:4000],
        "deliveries": deliveries,
    }

    async def write() -> bool:
        async with sessionmaker() as session, session.begin():
            await session.execute(_DEAD_LETTER, params)
        return True

    await retry_while_unavailable(write, stop)
