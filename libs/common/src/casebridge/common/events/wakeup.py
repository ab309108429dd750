"""Wake a loop when PostgreSQL says something was committed (LISTEN/NOTIFY).

A notification is only ever a hint (OBX-R7): the loop that waits on it still polls, less
often, and after a lost LISTEN connection it is woken once so that anything committed while
it was deaf is picked up."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


def dsn_of(engine: AsyncEngine) -> str:
    """The engine's database as a plain asyncpg DSN (for a connection of its own)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(dsn: str, channel: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Set `wake` on every NOTIFY on `channel` until `stop`; reconnect on loss."""
    while not stop.is_set():
        lost = asyncio.Event()
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.debug("LISTEN %s: connect failed: %s", channel, exc)
            await wait_any(stop, lost, timeout=2.0)
            continue
        try:
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener(channel, lambda *_: wake.set())
            await wait_any(stop, lost, timeout=None)
        except (OSError, asyncpg.PostgresError) as exc:
            log.debug("LISTEN %s: connection lost: %s", channel, exc)
        finally:
            if not conn.is_closed():
                conn.terminate()
        wake.set()  # anything committed while we were deaf is picked up now


async def wait_any(*events: asyncio.Event, timeout: float | None) -> None:
    """Until one of `events` is set, or `timeout` seconds."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
