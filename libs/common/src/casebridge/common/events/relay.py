"""The outbox relay: claim with SKIP LOCKED and a lease, publish, finish only on PubAck."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import APIError, NoStreamResponseError
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from casebridge.common.events.connection import NatsLink
from casebridge.common.events.errors import is_infrastructure_error
from casebridge.common.events.outbox import NOTIFY_CHANNEL
from casebridge.common.events.streams import stream_for_subject
from casebridge.common.events.wakeup import dsn_of, listen, wait_any

log = logging.getLogger(__name__)

PUBLISHED = Counter("casebridge_outbox_published_total", "Outbox rows published", ["service"])
FAILED = Counter("casebridge_outbox_publish_failed_total", "Failed publishes", ["service", "kind"])
LEASE_LOST = Counter(
    "casebridge_outbox_lease_lost_total", "Rows finished by another relay", ["service"]
)

# Errors that say nothing about the message: the server was away. Retried without limit.
TRANSPORT_ERRORS = (
    NatsTimeout,
    TimeoutError,
    NoRespondersError,
    NoStreamResponseError,
    ConnectionClosedError,
    OSError,
)

_CLAIM = text(
    """
    UPDATE outbox_message SET acquired_token = :token, acquired_at = now(),
           attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM outbox_message
        WHERE next_attempt_at <= now()
          AND (acquired_at IS NULL OR acquired_at < now() - make_interval(secs => :lease))
        ORDER BY created_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED)
    RETURNING id, subject, payload, attempts, aggregate_id, created_at
    """
)
_FINISH = text("DELETE FROM outbox_message WHERE id = ANY(:ids) AND acquired_token = :token")
_RETRY = text(
    """
    UPDATE outbox_message SET acquired_token = NULL, acquired_at = NULL, last_error = :error,
           next_attempt_at = now() + make_interval(secs => :delay)
    WHERE id = :id AND acquired_token = :token
    """
)
_DEAD = text(
    """
    WITH moved AS (
        DELETE FROM outbox_message WHERE id = :id AND acquired_token = :token RETURNING *)
    INSERT INTO dead_letter (id, direction, message_id, subject, payload, reason, deliveries)
    SELECT gen_random_uuid(), 'outbound', moved.id::text, moved.subject, moved.payload,
           :error, moved.attempts
    FROM moved
    """
)


@dataclass(frozen=True)
class RelayConfig:
    service: str
    batch_size: int = 200
    poll_interval: float = 1.0
    lease_seconds: float = 30.0
    publish_timeout: float = 5.0
    max_rejections: int = 10
    max_backoff: float = 60.0


def backoff(attempts: int, cap: float) -> float:
    return float(min(cap, 0.5 * 2 ** max(0, attempts - 1)))


@dataclass
class _Row:
    id: uuid.UUID
    subject: str
    payload: dict[str, Any]
    attempts: int
    aggregate_id: str


class OutboxRelay:
    """Publishes committed outbox rows to JetStream, exactly once per row id."""

    def __init__(self, engine: AsyncEngine, link: NatsLink, config: RelayConfig) -> None:
        self.engine = engine
        # The claim and the finish are one statement each: atomic on their own, so they run
        # without BEGIN and COMMIT (two round trips fewer each).
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.link = link
        self.config = config
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(
            listen(dsn_of(self.engine), NOTIFY_CHANNEL, self._wake, stop), name="outbox-listen"
        )
        try:
            delay = self.config.poll_interval
            while not stop.is_set():
                published = 0
                # Clear before claiming: a NOTIFY that arrives while this batch is out must
                # wake the next round, not wait for the poll.
                self._wake.clear()
                try:
                    if self.link.connected.is_set():
                        published = await self.relay_once()
                    delay = self.config.poll_interval
                except Exception as exc:
                    if not is_infrastructure_error(exc):
                        raise
                    # The database is away: the rows are safe in it; try again shortly.
                    log.warning("relay: database unavailable (%s); retrying", type(exc).__name__)
                    delay = min(delay * 2, 5.0)
                if published >= self.config.batch_size:
                    continue  # more may be waiting
                await wait_any(stop, self._wake, timeout=delay)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def relay_once(self) -> int:
        """Claim one batch, publish it, record the outcomes. Returns rows published."""
        token = uuid.uuid4()
        async with self._single.connect() as conn:
            result = await conn.execute(
                _CLAIM,
                {
                    "token": token,
                    "lease": self.config.lease_seconds,
                    "limit": self.config.batch_size,
                },
            )
            rows = [_Row(r.id, r.subject, r.payload, r.attempts, r.aggregate_id) for r in result]
        if not rows:
            return 0
        by_aggregate: dict[str, list[_Row]] = defaultdict(list)
        for row in rows:
            by_aggregate[row.aggregate_id].append(row)
        outcomes = await asyncio.gather(*(self._publish_in_order(g) for g in by_aggregate.values()))
        sent = [row_id for group in outcomes for row_id, error in group if error is None]
        failed = [(row_id, error) for group in outcomes for row_id, error in group if error]
        await self._record(token, rows, sent, failed)
        return len(sent)

    async def _publish_in_order(
        self, rows: list[_Row]
    ) -> list[tuple[uuid.UUID, BaseException | None]]:
        """Rows of one aggregate go out in commit order; stop at the first failure."""
        results: list[tuple[uuid.UUID, BaseException | None]] = []
        for index, row in enumerate(rows):
            try:
                await self.link.js.publish(
                    row.subject,
                    json.dumps(row.payload, separators=(",", ":")).encode(),
                    timeout=self.config.publish_timeout,
                    stream=stream_for_subject(row.subject),
                    headers={"Nats-Msg-Id": str(row.id)},
                )
                results.append((row.id, None))
            except (*TRANSPORT_ERRORS, APIError) as exc:
                results.append((row.id, exc))
                later = TimeoutError("held back behind an earlier failure")
                results.extend((r.id, later) for r in rows[index + 1 :])
                break
        return results

    async def _record(
        self,
        token: uuid.UUID,
        rows: list[_Row],
        sent: list[uuid.UUID],
        failed: list[tuple[uuid.UUID, BaseException]],
    ) -> None:
        attempts = {row.id: row.attempts for row in rows}
        async with self.engine.begin() if failed else self._single.connect() as conn:
            if sent:
                result = await conn.execute(_FINISH, {"ids": sent, "token": token})
                lost = len(sent) - (result.rowcount or 0)
                if lost:
                    LEASE_LOST.labels(self.config.service).inc(lost)
                    log.warning("lease lost on %d rows (another relay finished them)", lost)
                PUBLISHED.labels(self.config.service).inc(len(sent))
            for row_id, exc in failed:
                transport = isinstance(exc, TRANSPORT_ERRORS)
                FAILED.labels(self.config.service, "transport" if transport else "rejected").inc()
                error = f"{type(exc).__name__}: {exc}"[:2000]
                params = {"id": row_id, "token": token, "error": error}
                if not transport and attempts[row_id] >= self.config.max_rejections:
                    log.error("outbox row %s dead-lettered: %s", row_id, error)
                    await conn.execute(_DEAD, params)
                else:
                    delay = backoff(attempts[row_id], self.config.max_backoff)
                    await conn.execute(_RETRY, {**params, "delay": delay})
