"""Webhook delivery: every delivery to an agency with an active webhook endpoint is owed to
that endpoint as one message (a row written in the delivery's own transaction, so none is
lost), posted by the dispatcher in the worker with the message's id as `webhook-id` on every
attempt, retried with exponential backoff and dead-lettered with the reason after the last
attempt; the partner lists its dead letters and re-drives them.

At least once: a dispatcher claims due messages for a lease, posts them, then records each
attempt; if it dies between the POST and the record, the lease runs out and the message is
posted again under the same webhook-id (receivers deduplicate on it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from prometheus_client import Counter
from pydantic_core import to_json
from sqlalchemy import Select, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from casebridge.common.auth import Principal
from casebridge.common.db import new_id, utcnow
from casebridge.common.errors import Conflict, NotFound
from casebridge.common.events.errors import is_infrastructure_error
from casebridge.common.events.wakeup import dsn_of, listen, wait_any
from casebridge.common.pagination import Slice, page_by_id
from casebridge.common.worker import PeriodicJob
from casebridge.sharing import feed, webhook_sender
from casebridge.sharing.deliveries import Shared
from casebridge.sharing.models import (
    Delivery,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)
from casebridge.sharing.settings import Settings

log = logging.getLogger(__name__)

ATTEMPTS = Counter(
    "casebridge_webhook_attempts_total", "Webhook POSTs by what came of them", ["outcome"]
)


class WebhookMessageNotFound(NotFound):
    code = "webhook_message_not_found"


class NotDeadLettered(Conflict):
    code = "not_dead_lettered"


@dataclass(frozen=True)
class Job:
    """A claimed message: what to post where, and which attempt this is."""

    message_id: UUID
    attempt: int
    url: str
    secret: str
    event_type: str
    data: dict[str, Any]


# ---- owed: one message per delivery per active endpoint ---------------------------------
async def enqueue(session: AsyncSession, shared: Sequence[Shared]) -> int:
    """Owe each of these deliveries to every active endpoint of its recipient (read with
    the recipients, in this transaction), in one INSERT."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "delivery_id": s.delivery_id,
            "endpoint_id": endpoint_id,
            "agency_id": s.agency_id,
            "next_attempt_at": now,
            "created_at": now,
        }
        for s in shared
        for endpoint_id in s.endpoints
    ]
    if not rows:
        return 0
    await session.execute(_OWE, {"rows": to_json(rows).decode()})
    return len(rows)


# One fixed statement whatever the number of rows (prepared once per process).
_OWE = text(
    "INSERT INTO webhook_message (id, delivery_id, endpoint_id, agency_id, next_attempt_at,"
    " created_at) SELECT id, delivery_id, endpoint_id, agency_id, next_attempt_at, created_at"
    " FROM jsonb_populate_recordset(NULL::webhook_message, CAST(:rows AS jsonb))"
    " ON CONFLICT DO NOTHING"
)


# ---- the dispatcher ---------------------------------------------------------------------
def backoff(settings: Settings, attempt: int) -> timedelta:
    """How long after the attempt-th failure the next attempt is due."""
    seconds = settings.webhook_backoff_base_seconds * 2 ** (attempt - 1)
    return timedelta(seconds=min(seconds, settings.webhook_backoff_max_seconds))


async def claim(session: AsyncSession, *, now: datetime, lease: timedelta, limit: int) -> list[Job]:
    """Due messages of active endpoints, each now leased to this dispatcher and counted as
    one more attempt (a crash after this still counts it)."""
    rows = (
        await session.execute(
            select(
                WebhookMessage.id,
                WebhookMessage.attempts,
                WebhookEndpoint.url,
                WebhookEndpoint.signing_secret,
                Delivery.event_type,
                Delivery.data,
            )
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
            .join(Delivery, Delivery.id == WebhookMessage.delivery_id)
            .where(
                WebhookMessage.state == "pending",
                WebhookMessage.next_attempt_at <= now,
                or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now),
                WebhookEndpoint.active,
            )
            .order_by(WebhookMessage.next_attempt_at)
            .limit(limit)
            .with_for_update(of=WebhookMessage, skip_locked=True)
        )
    ).all()
    if not rows:
        return []
    await session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.id.in_([row.id for row in rows]))
        .values(attempts=WebhookMessage.attempts + 1, leased_until=now + lease)
    )
    return [
        Job(row.id, row.attempts + 1, row.url, row.signing_secret, row.event_type, row.data)
        for row in rows
    ]


# The delivered messages of a round in one statement (most rounds deliver everything); each
# only if this dispatcher still holds it (its attempt is the message's latest).
_DELIVERED = text(
    """
    UPDATE webhook_message AS m
    SET state = 'delivered', delivered_at = :now, last_error = NULL, leased_until = NULL,
        last_status = j.status
    FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]), CAST(:statuses AS integer[]))
         AS j(id, attempt, status)
    WHERE m.id = j.id AND m.state = 'pending' AND m.attempts = j.attempt
    """
)


async def record_round(
    session: AsyncSession,
    results: Sequence[tuple[Job, webhook_sender.Outcome]],
    *,
    started_at: datetime,
    settings: Settings,
) -> list[str]:
    """Keep every attempt of a round (one INSERT); the delivered messages are marked in one
    statement, each failed one is due again after its backoff, or dead. A dispatcher whose
    lease ran out (the message was claimed again) changes nothing. The messages' states."""
    session.add_all(
        WebhookAttempt(
            id=new_id(),
            message_id=job.message_id,
            attempt=job.attempt,
            url=job.url,
            started_at=started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
            succeeded=outcome.succeeded,
        )
        for job, outcome in results
    )
    delivered = [(job, outcome) for job, outcome in results if outcome.succeeded]
    if delivered:
        await session.execute(
            _DELIVERED,
            {
                "now": utcnow(),
                "ids": [job.message_id for job, _ in delivered],
                "attempts": [job.attempt for job, _ in delivered],
                "statuses": [outcome.status_code for _, outcome in delivered],
            },
        )
    return [
        "delivered" if outcome.succeeded else await _failed(session, job, outcome, settings)
        for job, outcome in results
    ]


async def _failed(
    session: AsyncSession, job: Job, outcome: webhook_sender.Outcome, settings: Settings
) -> str:
    """A failed attempt: due again after its backoff, or dead after the last."""
    now = utcnow()
    values: dict[str, Any] = {"leased_until": None, "last_status": outcome.status_code}
    if job.attempt >= settings.webhook_max_attempts:
        state = "dead"
        values |= {"state": state, "dead_at": now, "last_error": outcome.error}
    else:
        state = "pending"
        next_at = now + backoff(settings, job.attempt)
        values |= {"next_attempt_at": next_at, "last_error": outcome.error}
    await session.execute(
        update(WebhookMessage)
        .where(
            WebhookMessage.id == job.message_id,
            WebhookMessage.state == "pending",
            WebhookMessage.attempts == job.attempt,
        )
        .values(**values)
    )
    return state


async def dispatch_once(
    sessions: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, settings: Settings
) -> int:
    """Claim a batch of due messages, post them at once, record what came of each."""
    started_at = utcnow()
    async with sessions() as session, session.begin():
        jobs = await claim(
            session,
            now=started_at,
            lease=timedelta(seconds=settings.webhook_lease_seconds),
            limit=settings.webhook_batch_size,
        )
    if not jobs:
        return 0
    outcomes = await asyncio.gather(*(_post(client, job, settings) for job in jobs))
    results = list(zip(jobs, outcomes, strict=True))
    async with sessions() as session, session.begin():
        states = await record_round(session, results, started_at=started_at, settings=settings)
        for (job, outcome), state in zip(results, states, strict=True):
            ATTEMPTS.labels("retry" if state == "pending" else state).inc()
            if state == "dead":
                log.warning("webhook message %s dead after %d attempts: %s",
                            job.message_id, job.attempt, outcome.error)  # fmt: skip
    return len(jobs)


async def _post(client: httpx.AsyncClient, job: Job, settings: Settings) -> webhook_sender.Outcome:
    body, headers = webhook_sender.signed(
        message_id=str(job.message_id),
        secret=job.secret,
        event_type=job.event_type,
        data=job.data,
        now=utcnow(),
    )
    return await webhook_sender.post(
        client,
        url=job.url,
        body=body,
        headers=headers,
        allow_loopback=settings.webhook_allow_loopback,
        allowed_hosts=settings.webhook_allowed_hosts,
    )


def dispatcher(settings: Settings) -> PeriodicJob:
    """The worker's webhook loop: dispatch while there is work; else sleep until a delivery
    is committed (the feed's NOTIFY: webhook messages are written in the deliveries'
    statement) or a poll interval passes (retries falling due, a partner's re-drive)."""

    async def webhook_dispatcher(
        engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event
    ) -> None:
        wake = asyncio.Event()
        listener = asyncio.create_task(
            listen(dsn_of(engine), feed.CHANNEL, wake, stop), name="webhook-listen"
        )
        async with webhook_sender.new_client(
            allow_loopback=settings.webhook_allow_loopback,
            connect_timeout=settings.webhook_connect_timeout_seconds,
            timeout=settings.webhook_timeout_seconds,
        ) as client:
            busy = False  # the round before posted something: a first retry may fall due
            try:
                while not stop.is_set():
                    wake.clear()  # a delivery committed while this round is out wakes the next
                    try:
                        sent = await dispatch_once(sessions, client, settings)
                    except Exception as exc:
                        # The database away: try again shortly (a claimed batch's lease runs
                        # out and it is posted again). Anything else is a bug: logged with
                        # its trace.
                        if is_infrastructure_error(exc):
                            log.warning("webhook dispatcher: %s: %s", type(exc).__name__, exc)
                        else:
                            log.exception("webhook dispatcher failed")
                        sent = 0
                    if not sent:
                        interval = settings.webhook_poll_interval_seconds
                        if busy:
                            interval = min(interval, settings.webhook_backoff_base_seconds)
                        await wait_any(stop, wake, timeout=interval)
                    busy = bool(sent)
            finally:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    return webhook_dispatcher


# ---- the partner's view -----------------------------------------------------------------
def visible_messages(principal: Principal) -> Select[WebhookMessage]:
    """A partner sees the webhook messages owed to its own agency, nobody else's."""
    return select(WebhookMessage).where(WebhookMessage.agency_id == principal.agency_id)


async def list_dead_letters(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: UUID | None
) -> Slice[WebhookMessage]:
    statement = visible_messages(principal).where(WebhookMessage.state == "dead")
    return await page_by_id(session, statement, WebhookMessage.id, limit=limit, cursor=cursor)


async def list_attempts(
    session: AsyncSession, *, principal: Principal, message_id: UUID
) -> Sequence[WebhookAttempt]:
    await _get_message(session, principal, message_id)
    statement = select(WebhookAttempt).where(WebhookAttempt.message_id == message_id)
    return (await session.scalars(statement.order_by(WebhookAttempt.started_at))).all()


async def redrive(
    session: AsyncSession, *, principal: Principal, message_id: UUID
) -> WebhookMessage:
    """A dead letter is due again at once, with every attempt ahead of it again."""
    message = await _get_message(session, principal, message_id, for_update=True)
    if message.state != "dead":
        raise NotDeadLettered(f"webhook message {message_id} is {message.state}, not dead")
    message.state = "pending"
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.leased_until = None
    message.dead_at = None
    await session.flush()
    log.info("webhook message %s re-driven by %s", message_id, principal.client_id)
    return message


async def _get_message(
    session: AsyncSession, principal: Principal, message_id: UUID, *, for_update: bool = False
) -> WebhookMessage:
    statement = visible_messages(principal).where(WebhookMessage.id == message_id)
    message = await session.scalar(statement.with_for_update() if for_update else statement)
    if message is None:
        raise WebhookMessageNotFound(f"no webhook message {message_id} for your agency")
    return message
