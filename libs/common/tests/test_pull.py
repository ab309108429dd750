"""The continuous pull (events/pull.py) with a real nats-server: a batch is what has arrived,
never a wait to fill it; requests are topped up; a restart of the server loses nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from casebridge.common.events.connection import NatsLink
from casebridge.common.events.pull import ConsumerGone, Pull
from casebridge.devstack.nats_server import NatsServer


@pytest.fixture
async def link(own_nats: NatsServer) -> AsyncIterator[NatsLink]:
    link = NatsLink(own_nats.url, name="pull-test")
    await link.connect()
    stream = f"PULL{uuid.uuid4().hex[:8].upper()}"
    await link.js.add_stream(StreamConfig(name=stream, subjects=[f"{stream.lower()}.>"]))
    await link.js.add_consumer(
        stream, ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
    )
    link.stream = stream  # type: ignore[attr-defined]
    yield link
    await link.close()


async def publish(link: NatsLink, numbers: range) -> None:
    stream: str = link.stream  # type: ignore[attr-defined]
    for i in numbers:
        await link.js.publish(f"{stream.lower()}.x", str(i).encode())


async def drain(pull: Pull, want: int, timeout: float = 20) -> list[int]:
    """At least `want` messages (all of any batch that came), acked."""
    got: list[int] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        for message in await pull.next_batch(0.5):
            got.append(int(message.data))
            await message.ack()
    return got


async def test_a_batch_is_what_has_arrived_not_a_wait_to_fill_it(link: NatsLink) -> None:
    assert link.nc is not None
    pull = Pull(link.nc, link.stream, "c", batch=64)  # type: ignore[attr-defined]
    await pull.start()
    await publish(link, range(3))
    started = time.monotonic()
    got = await drain(pull, 3)
    # nats.py's fetch(64, timeout=10) would wait the 10 s for 61 more
    assert sorted(got) == [0, 1, 2]
    assert time.monotonic() - started < 5
    assert await pull.next_batch(0.2) == []  # nothing more: an empty batch after the wait
    await pull.stop()


async def test_requests_are_topped_up_and_batches_stay_bounded(link: NatsLink) -> None:
    assert link.nc is not None
    pull = Pull(link.nc, link.stream, "c", batch=16)  # type: ignore[attr-defined]
    await pull.start()
    await publish(link, range(100))
    sizes: list[int] = []
    got: list[int] = []
    while len(got) < 100:
        batch = await pull.next_batch(2.0)
        assert batch, "a message was published but none came"
        sizes.append(len(batch))
        for message in batch:
            got.append(int(message.data))
            await message.ack()
    assert got == list(range(100))  # in stream order, each once
    assert max(sizes) <= 16
    await pull.stop()


async def test_an_expired_request_is_renewed(link: NatsLink) -> None:
    assert link.nc is not None
    pull = Pull(link.nc, link.stream, "c", batch=8, expires=0.5, heartbeat=0.2)  # type: ignore[attr-defined]
    await pull.start()
    assert await pull.next_batch(1.5) == []  # the first request expired meanwhile (408)
    await publish(link, range(5))
    assert sorted(await drain(pull, 5)) == [0, 1, 2, 3, 4]
    await pull.stop()


async def test_a_server_restart_loses_nothing(link: NatsLink, own_nats: NatsServer) -> None:
    assert link.nc is not None
    pull = Pull(link.nc, link.stream, "c", batch=8, heartbeat=0.5)  # type: ignore[attr-defined]
    await pull.start()
    await publish(link, range(10))
    first = await drain(pull, 10)
    own_nats.kill()
    await asyncio.to_thread(own_nats.start)
    assert await link.wait_connected(timeout=20)
    await publish(link, range(10, 20))
    # the same Pull (no new subscription): its requests died with the server; the
    # heartbeat silence tells it to ask again
    second = await drain(pull, 10)
    while set(first + second) != set(range(20)):  # an ack in flight at the kill: again
        more = await drain(pull, 1, timeout=5)
        assert more, f"lost: {set(range(20)) - set(first + second)}"
        second += more
    assert set(first + second) == set(range(20))
    await pull.stop()


async def test_a_deleted_consumer_is_said(link: NatsLink) -> None:
    assert link.nc is not None
    pull = Pull(link.nc, link.stream, "c", batch=8)  # type: ignore[attr-defined]
    await pull.start()
    assert await pull.next_batch(0.2) == []
    await link.js.delete_consumer(link.stream, "c")  # type: ignore[attr-defined]

    async def until_said() -> None:
        for _ in range(20):
            await pull.next_batch(0.25)

    with pytest.raises(ConsumerGone):
        await until_said()
    await pull.stop()


async def test_what_was_never_handed_out_goes_back_on_stop(link: NatsLink) -> None:
    assert link.nc is not None
    pull = Pull(link.nc, link.stream, "c", batch=8)  # type: ignore[attr-defined]
    await pull.start()
    assert await pull.next_batch(0.2) == []  # a request is open
    await publish(link, range(5))
    await asyncio.sleep(0.3)  # they have arrived here, none handed out
    await pull.stop()
    again = Pull(link.nc, link.stream, "c", batch=8)  # type: ignore[attr-defined]
    await again.start()
    got = await drain(again, 5, timeout=10)  # not after the consumer's 30 s ack wait
    assert sorted(got) == [0, 1, 2, 3, 4]
    await again.stop()
