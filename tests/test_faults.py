"""Reliability by killing things (docs/requirements.md: NATS-R3, NATS-R5,
NATS-R6, OBX-R1, TEST-R3, TEST-R4).

Each test pushes N complaints through intake -> relay -> JetStream -> stats while a server
or a worker is SIGKILLed and restarted, then checks: every complaint counted exactly once
(0 lost, 0 applied twice)."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from casebridge.devstack import EmbeddedPostgres, NatsServer
from casebridge.testing.harness import migrate
from casebridge.testing.poll import poll
from casebridge.testing.tokens import TokenFactory
from tests.conftest import ANONYMOUS, System, consumer_settled, scalar, seed_intake_area
from tests.workers import WorkerProcess

pytestmark = pytest.mark.fault

N = 1000


async def post_many(
    client: httpx.AsyncClient,
    n: int,
    *,
    concurrency: int = 8,
    during: Callable[[int], Awaitable[None]] | None = None,
    answers: Counter[int] | None = None,
    keyed: bool = False,
) -> int:
    """POST n complaints, each until it is accepted (an outage answers 503: try again);
    `during(i)` runs (awaited) when the i-th post is sent; `answers` counts every status.
    `keyed`: each complaint's retries carry one Idempotency-Key, as a client must when the
    database may crash: a batch whose COMMIT reached the disk just before the crash is
    answered 503 (its outcome unknown), and a retry without the key logs it again."""
    sent = 0
    seen = answers if answers is not None else Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def accepted(i: int) -> bool:
        headers = {"Idempotency-Key": f"complaint-{i}"} if keyed else {}
        response = await client.post("/complaints", json=ANONYMOUS, headers=headers)
        seen[response.status_code] += 1
        assert response.status_code in (201, 503), response.text
        return response.status_code == 201

    async def one_client() -> None:
        nonlocal sent
        while not queue.empty():
            i = queue.get_nowait()
            if during is not None:
                await during(i)
            await poll(
                functools.partial(accepted, i),
                timeout=30,
                interval=0.2,
                what=f"complaint {i} accepted",
            )
            sent += 1

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return sent


async def complaints_logged(system: System) -> int:
    return int(await scalar(system.intake.database_url, "SELECT count(*) FROM complaint"))


async def stream_messages(system: System) -> int:
    import nats

    nc = await nats.connect(system.intake.nats_url)
    try:
        return int((await nc.jetstream().stream_info("INTAKE")).state.messages)
    finally:
        await nc.close()


async def redelivered(system: System) -> int:
    import nats

    nc = await nats.connect(system.stats.nats_url)
    try:
        info = await nc.jetstream().consumer_info("INTAKE", "stats-intake")
        return int(info.num_redelivered or 0)
    finally:
        await nc.close()


async def wait_counted(system: System, n: int, timeout: float = 90) -> None:
    """Until every complaint is counted and nothing more can arrive: the outbox is empty (all
    published) and the stats consumer has nothing pending or unacked, so a wrongful
    duplicate would already have been applied."""

    async def done() -> bool:
        return (
            await system.stats_total() >= n
            and await system.outbox_size() == 0
            and await consumer_settled(system.stats.nats_url, "INTAKE", "stats-intake")
        )

    await poll(done, timeout=timeout, interval=0.25)


async def test_nats_killed_twice_during_1000_complaints(
    system_on_own_nats: tuple[System, NatsServer],
) -> None:
    system, nats_server = system_on_own_nats
    kills = 0

    async def chaos(i: int) -> None:
        nonlocal kills
        if i in (250, 650):
            nats_server.kill()
            kills += 1
            before = await complaints_logged(system)

            async def logged_while_down() -> bool:  # the outbox takes them; the relay waits
                return await complaints_logged(system) >= before + 50

            await poll(logged_while_down)
            await asyncio.to_thread(nats_server.start)

    async with system.intake_client() as intake, system.intake_worker(), system.stats_worker():
        assert await post_many(intake, N, during=chaos) == N
        await wait_counted(system, N)
        messages = await stream_messages(system)
        report = await redelivered(system)
    assert kills == 2
    assert await system.stats_total() == N, "lost or doubled"
    assert messages == N, f"stream holds {messages} messages for {N} rows"
    print(
        f"\nNATS-R6: N={N}, nats-server SIGKILLed {kills}x; lost 0, duplicate effects 0, "
        f"redeliveries {report}"
    )


async def test_workers_sigkilled_mid_relay_and_mid_consume(system: System, tmp_path: Path) -> None:
    intake_worker = WorkerProcess(
        "intake", system.intake, tmp_path, relay_batch_size="20", relay_lease_seconds="5"
    )
    stats_worker = WorkerProcess("stats", system.stats, tmp_path, consumer_batch_size="10")
    async with system.intake_client() as intake:
        assert await post_many(intake, N) == N
    assert await system.outbox_size() == N
    intake_worker.start()
    stats_worker.start()

    async def relaying() -> bool:
        return await system.outbox_size() < N - 100

    await poll(relaying, interval=0.02)
    intake_worker.kill()  # mid-relay: some rows claimed, maybe published, not finished
    remaining = await system.outbox_size()

    async def consuming() -> bool:
        return await system.stats_total() > 0

    await poll(consuming, interval=0.02)
    stats_worker.kill()  # mid-consume: some committed and not acked, some in flight
    intake_worker.start()
    stats_worker.start()
    try:
        await wait_counted(system, N)
    finally:
        intake_worker.stop()
        stats_worker.stop()
    assert 0 < remaining < N
    assert await system.stats_total() == N, "lost or doubled"
    assert await stream_messages(system) == N


async def test_postgres_crash_restart_during_flow(
    own_postgres: EmbeddedPostgres, own_nats: NatsServer, tokens: TokenFactory
) -> None:
    """TEST-R4: pg_ctl -m immediate (a crash) while complaints flow; nothing lost or doubled."""
    pg = own_postgres
    for name in ("intake", "stats"):
        pg.create_database(f"crash_{name}")
        await migrate(name, pg.url(f"crash_{name}"))
    await seed_intake_area(pg.url("crash_intake"))
    system = System(pg.url("crash_intake"), pg.url("crash_stats"), own_nats, tokens)
    crashed = False
    answers: Counter[int] = Counter()

    async def chaos(i: int) -> None:
        nonlocal crashed
        if i == 400:
            await asyncio.to_thread(pg.stop, "immediate")
            crashed = True
            refused = answers[503]

            async def answered_503() -> bool:  # the outage was seen by the API
                return answers[503] > refused

            await poll(answered_503)
            await asyncio.to_thread(pg.start)

    async with (
        system.intake_client() as intake,
        system.intake_worker(),
        system.stats_worker(),
    ):
        sent = await post_many(intake, N // 2, during=chaos, answers=answers, keyed=True)
        await wait_counted(system, sent)
    assert crashed
    assert answers[503] > 0, "the API answers 503 while the database is away"
    assert sent == N // 2
    assert await system.stats_total() == sent


__all__ = ["scalar"]
