"""One NATS connection per process, reconnecting forever, re-ensuring streams each time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import NoServersError
from nats.js import JetStreamContext

from casebridge.common.events.streams import ensure_streams

log = logging.getLogger(__name__)


async def reachable(url: str, timeout: float = 1.0) -> bool:
    """Does any server in the (comma-separated) NATS URL accept a TCP connection?"""
    for server in url.split(","):
        parsed = urlsplit(server.strip())
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parsed.hostname or "127.0.0.1", parsed.port or 4222),
                timeout,
            )
        except (OSError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


class NatsLink:
    """The process's NATS connection. `generation` increases on every reconnect, so pull
    subscriptions can tell that they must be re-created (nats.py does not do it for them)."""

    def __init__(self, url: str, *, name: str, stream_replicas: int = 1) -> None:
        self.url = url
        self.name = name
        self.stream_replicas = stream_replicas
        self.nc: NatsClient | None = None
        self.generation = 0
        self.connected = asyncio.Event()
        self._closing = False
        self._listeners: list[Callable[[], Awaitable[None]]] = []

    @property
    def js(self) -> JetStreamContext:
        assert self.nc is not None, "connect() first"
        return self.nc.jetstream(timeout=5.0)

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._listeners.append(callback)

    async def connect(self, stop: asyncio.Event | None = None) -> None:
        """Connect, retrying until the server answers (or `stop` is set).

        nats.py's own connect loops forever when reconnects are unlimited, and on Python 3.11
        a cancel can be lost inside it; so we only call it once a server accepts TCP, and
        our loop (which honours `stop`) does the waiting."""
        delay = 0.2
        while True:
            if stop is not None and stop.is_set():
                raise ConnectionAbortedError("stopped before NATS was reachable")
            if not await reachable(self.url):
                log.warning("NATS %s not reachable; retrying", self.url)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            try:
                self.nc = await nats.connect(
                    self.url,
                    name=self.name,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
                break
            except (NoServersError, OSError, TimeoutError) as exc:
                log.warning("NATS %s not reachable (%s); retrying", self.url, exc)
                if stop is not None and stop.is_set():
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        await self._after_connect()

    async def _after_connect(self) -> None:
        await ensure_streams(self.js, replicas=self.stream_replicas)
        self.generation += 1
        self.connected.set()

    async def _disconnected(self) -> None:
        self.connected.clear()
        if self._closing:  # our own close: nats.py calls this callback for it too
            log.debug("NATS connection closed")
            return
        log.warning("NATS disconnected")

    async def _reconnected(self) -> None:
        log.info("NATS reconnected")
        try:
            await self._after_connect()
        except Exception as exc:
            log.warning("ensuring streams after reconnect failed: %s", exc)
            self.connected.set()
            self.generation += 1
        for callback in self._listeners:
            await callback()

    async def _error(self, exc: Exception) -> None:
        log.debug("NATS error: %s", exc)

    async def wait_connected(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        # close, not drain: every message is acked explicitly, and draining a pull
        # subscription waits out its whole drain timeout (30 s).
        self._closing = True
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()
