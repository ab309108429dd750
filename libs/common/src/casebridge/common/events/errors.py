"""Telling "the infrastructure was away" from "this message or request is bad"."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# SQLSTATE classes that mean the server or connection is unavailable, not the statement bad:
# 08 connection exceptions; 57P01 admin shutdown, 57P02 crash shutdown, 57P03 starting up.
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")
_UNAVAILABLE_TYPES = (
    OSError,
    ConnectionError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    # The driver's protocol is in a state it cannot leave, e.g. the server ended the
    # connection (pg_terminate_backend, a restart) just as a statement was sent on it.
    asyncpg.InternalClientError,
)


def is_infrastructure_error(exc: BaseException) -> bool:
    """The database was away, not the message's fault: retry in place, spend no delivery."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE_TYPES):
            return True
        if isinstance(current, DBAPIError) and (
            current.connection_invalidated or isinstance(current, OperationalError | InterfaceError)
        ):
            return True
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


async def retry_while_unavailable(
    action: Callable[[], Awaitable[Any]], stop: asyncio.Event | None
) -> None:
    """Run `action` until it succeeds, waiting out the database (backoff 0.2 s to 5 s); any
    other error, or one after `stop` is set, is raised."""
    delay = 0.2
    while True:
        try:
            await action()
            return
        except Exception as exc:
            if not is_infrastructure_error(exc):
                raise
            if stop is not None and stop.is_set():
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
