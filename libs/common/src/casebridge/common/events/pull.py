"""A continuous pull from a durable JetStream consumer: batches as big as what has arrived.

nats.py's `fetch(n, timeout)` either returns what is already there (one "no wait" request
and its "no messages" answer per call) or, when nothing is, sends a second request and then
waits until `n` messages have come or `timeout` has passed. At a steady rate that is two
requests per batch, and a batch that waits up to `timeout` to fill: with n=64 and 1 s, an
event that arrives just after a quiet spell waits for 63 others or the second (this was
most of the consumers' p99 commit -> applied latency in bench/system_bench.py).

Here, as nats.go's `Consume` does, the pull requests run ahead of the handler: one request
for `batch` messages with a long expiry, topped up when fewer than half of them are still
owed, so the server sends each message as soon as it is stored. `next_batch` waits for the
first message and returns it with whatever else has arrived: one message when the rate is
low, a full batch when the handler falls behind, never a wait to fill a batch.

Each request has a reply subject of its own, so a request's end (408 expired, 409 e.g. a
leadership change or a batch the server refused) is counted against that request only; a
message counts against the oldest request (the server serves them in order).
The server's idle heartbeats say a request is alive; a silence of two heartbeats means the
requests are gone (a server restart the connection did not notice yet) and new ones are
sent. Messages delivered here and not yet handed out are redelivered after the consumer's
ack wait if this process dies: nothing is lost, and the inbox applies them once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

STATUS = "Status"
HEARTBEAT, NO_MESSAGES, EXPIRED, CONFLICT = "100", "404", "408", "409"
GONE = ("consumer deleted", "consumer is deleted")


class ConsumerGone(Exception):
    """The server says the durable consumer no longer exists: re-create it."""


class Pull:
    """Pull requests kept open ahead of the handler, for one durable consumer."""

    def __init__(
        self,
        nc: NatsClient,
        stream: str,
        consumer: str,
        *,
        batch: int = 64,
        expires: float = 30.0,
        heartbeat: float = 5.0,
    ) -> None:
        self.nc = nc
        self.subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self.batch = batch
        self.expires = expires
        self.heartbeat = heartbeat
        self.inbox = nc.new_inbox()
        # reply subject -> messages it may still bring, oldest request first
        self._owed: dict[str, int] = {}
        self._serial = 0
        self._ready: deque[Msg] = deque()
        self._arrived = asyncio.Event()
        self._heard = time.monotonic()  # the last message or heartbeat from the server
        self._gone: str | None = None
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(f"{self.inbox}.*", cb=self._on_message)

    async def stop(self) -> None:
        """Stop asking; what arrived and was never handed out goes back at once (a nak), so
        the next consumer need not wait out the ack wait for it."""
        if self._sub is not None:
            sub, self._sub = self._sub, None
            with contextlib.suppress(Exception):  # a closed connection: nothing to undo
                await sub.unsubscribe()
        while self._ready:
            with contextlib.suppress(Exception):  # gone with the connection: redelivered
                await self._ready.popleft().nak()

    @property
    def owed(self) -> int:
        return sum(self._owed.values())

    async def next_batch(self, timeout: float) -> list[Msg]:
        """The messages that have arrived (at most `batch`), waiting up to `timeout` seconds
        for the first; [] if none came."""
        await self._top_up()
        if not self._ready:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                pass
        if self._gone is not None:
            raise ConsumerGone(self._gone)
        return [self._ready.popleft() for _ in range(min(self.batch, len(self._ready)))]

    async def _top_up(self) -> None:
        if self._owed and time.monotonic() - self._heard > 2 * self.heartbeat + 1:
            self._owed.clear()  # neither a message nor a heartbeat: the requests are gone
        owed = self.owed + len(self._ready)
        if owed > self.batch // 2:
            return
        self._serial += 1
        reply = f"{self.inbox}.{self._serial}"
        wanted = self.batch - owed
        request = {
            "batch": wanted,
            "expires": int(self.expires * 1e9),
            "idle_heartbeat": int(self.heartbeat * 1e9),
        }
        self._owed[reply] = wanted
        if len(self._owed) == 1:
            self._heard = time.monotonic()  # a new request: its heartbeats start now
        await self.nc.publish(self.subject, json.dumps(request).encode(), reply=reply)

    async def _on_message(self, msg: Msg) -> None:
        self._heard = time.monotonic()
        status = (msg.headers or {}).get(STATUS)
        if status == HEARTBEAT:
            return
        if status is None:
            # A message comes with its own subject, not its request's: the server serves
            # waiting requests oldest first, so it is the oldest request's.
            oldest = next(iter(self._owed), None)
            if oldest is not None:
                if self._owed[oldest] > 1:
                    self._owed[oldest] -= 1
                else:
                    del self._owed[oldest]
            self._ready.append(msg)
        else:  # 404/408/409: this request is over (a 409 may say the consumer is gone)
            self._owed.pop(msg.subject, None)
            description = (msg.headers or {}).get("Description", "").lower()
            if status == CONFLICT and any(gone in description for gone in GONE):
                self._gone = description
        self._arrived.set()
