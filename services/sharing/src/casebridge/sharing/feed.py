"""A partner's feed: what was delivered to its agency, oldest first from a cursor, with a
long poll that answers as soon as a delivery for the agency commits.

Order: each delivery's `seq` is taken from a sequence while the writing transaction holds
one advisory lock until it commits (ORDER_AND_ANNOUNCE_CTE, in the statement that writes
the deliveries), so rows become visible in `seq`
order and a cursor never passes a row that commits later. Wake-up: the writing transaction
sends `NOTIFY casebridge_delivery, '<agency id>'` (PostgreSQL sends it on commit, never on
a rollback); each API process LISTENs on one connection of its own and wakes the agency's
waiting requests. A waiter registers before its first read, so a delivery committing
between the read and the wait still wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.auth import Principal
from casebridge.sharing.models import Delivery
from casebridge.sharing.visibility import visible_deliveries

log = logging.getLogger(__name__)

CHANNEL = "casebridge_delivery"
# pg_advisory_xact_lock key for "numbering deliveries" (b"delivery" as a bigint).
DELIVERY_ORDER_LOCK = int.from_bytes(b"delivery", "big") >> 1
MAX_WAIT_SECONDS = 30.0


# Before numbering a transaction's deliveries: wait until every earlier writer's have
# committed (the lock is held to this commit), and wake the recipients' feeds when this one
# commits. A CTE the statement writing the deliveries joins, so the lock is held before the
# first row draws its `seq` (volatile: PostgreSQL materialises it, never inlines it away).
# Its parameters: `ordering(agencies)`.
ORDER_AND_ANNOUNCE_CTE = (
    "ordered AS (SELECT pg_advisory_xact_lock(:order_key) AS locked, (SELECT"
    " count(pg_notify(:order_channel, agency)) FROM unnest(CAST(:order_agencies AS text[]))"
    " AS agency) AS announced)"
)


def ordering(agencies: Iterable[UUID]) -> dict[str, Any]:
    """The parameters of ORDER_AND_ANNOUNCE_CTE for these recipients."""
    return {
        "order_key": DELIVERY_ORDER_LOCK,
        "order_channel": CHANNEL,
        "order_agencies": sorted({str(agency) for agency in agencies}),
    }


@dataclass
class Waiters:
    """The requests of one API process waiting for their agency's next delivery."""

    dsn: str
    by_agency: dict[UUID, set[asyncio.Event]] = field(default_factory=dict)
    connection: Any = None  # asyncpg.Connection, LISTENing on CHANNEL

    def wake(self, agency: UUID) -> None:
        for event in self.by_agency.get(agency, ()):
            event.set()

    def wake_all(self) -> None:
        for agency in list(self.by_agency):
            self.wake(agency)


def waiters_for(database_url: str) -> Waiters:
    """asyncpg wants the plain PostgreSQL URL of the SQLAlchemy one."""
    url = make_url(database_url).set(drivername="postgresql")
    return Waiters(url.render_as_string(hide_password=False))


async def listen(waiters: Waiters) -> None:
    """(Re)open the LISTEN connection; on its loss every waiter re-reads (nothing is missed:
    the cursor is in the database) and the next request reconnects."""
    if waiters.connection is not None and not waiters.connection.is_closed():
        return

    def notified(connection: Any, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            waiters.wake(UUID(payload))

    def lost(connection: Any) -> None:
        waiters.connection = None
        waiters.wake_all()

    connection = await asyncpg.connect(waiters.dsn)
    await connection.add_listener(CHANNEL, notified)
    connection.add_termination_listener(lost)
    waiters.connection = connection


async def stop_listening(waiters: Waiters) -> None:
    connection, waiters.connection = waiters.connection, None
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.close(timeout=2)


@contextlib.contextmanager
def waiting(waiters: Waiters, agency: UUID) -> Iterator[asyncio.Event]:
    event = asyncio.Event()
    waiters.by_agency.setdefault(agency, set()).add(event)
    try:
        yield event
    finally:
        found = waiters.by_agency.get(agency)
        if found is not None:
            found.discard(event)
            if not found:
                del waiters.by_agency[agency]


@dataclass(frozen=True)
class FeedSlice:
    """What the route returns: the deliveries after the cursor, and the cursor to send next."""

    items: list[Delivery]
    cursor: int


async def _after(
    sessions: async_sessionmaker[AsyncSession], principal: Principal, after: int, limit: int
) -> list[Delivery]:
    statement = (
        visible_deliveries(principal)
        .where(Delivery.seq > after)
        .order_by(Delivery.seq)
        .limit(limit)
    )
    async with sessions() as session:
        return list((await session.scalars(statement)).all())


async def read_feed(
    sessions: async_sessionmaker[AsyncSession],
    *,
    waiters: Waiters,
    principal: Principal,
    after: int,
    limit: int,
    wait: float,
) -> FeedSlice:
    """The caller's deliveries after `after`; with none yet, wait up to `wait` seconds for
    one (holding no database connection while waiting)."""
    with waiting(waiters, principal.agency_id) as woken:
        if wait > 0:
            try:
                await listen(waiters)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("feed: cannot LISTEN (%s); answering without waiting", exc)
                wait = 0
        rows = await _after(sessions, principal, after, limit)
        if not rows and wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=min(wait, MAX_WAIT_SECONDS))
                rows = await _after(sessions, principal, after, limit)
    return FeedSlice(rows, rows[-1].seq if rows else after)
