"""A service's worker process: the outbox relay and its consumers in one TaskGroup."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import uvloop
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import Consumer, ConsumerRunner
from casebridge.common.events.relay import OutboxRelay, RelayConfig
from casebridge.common.logging import configure_logging
from casebridge.common.settings import BaseServiceSettings

log = logging.getLogger(__name__)

PeriodicJob = Callable[
    [AsyncEngine, async_sessionmaker[AsyncSession], asyncio.Event], Coroutine[Any, Any, None]
]


async def run_worker(
    settings: BaseServiceSettings,
    consumers: Sequence[Consumer],
    *,
    jobs: Sequence[PeriodicJob] = (),
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop`): relay + consumers + periodic jobs."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    link = NatsLink(
        settings.nats_url,
        name=f"{settings.service_name}-worker",
        stream_replicas=settings.stream_replicas,
    )
    await link.connect(stop)
    relay = OutboxRelay(
        engine,
        link,
        RelayConfig(
            service=settings.service_name,
            batch_size=settings.relay_batch_size,
            poll_interval=settings.relay_poll_interval_seconds,
            lease_seconds=settings.relay_lease_seconds,
        ),
    )
    log.info("worker %s started with %d consumers", settings.service_name, len(consumers))
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(relay.run(stop), name="relay")
            for consumer in consumers:
                runner = ConsumerRunner(
                    consumer, link, sessionmaker, batch_size=settings.consumer_batch_size
                )
                group.create_task(runner.run(stop), name=f"consumer-{consumer.name}")
            for job in jobs:
                group.create_task(
                    job(engine, sessionmaker, stop), name=getattr(job, "__name__", "job")
                )
    finally:
        await link.close()
        await engine.dispose()
        log.info("worker %s stopped", settings.service_name)


def main(
    settings: BaseServiceSettings, consumers: Sequence[Consumer], jobs: Sequence[PeriodicJob] = ()
) -> None:
    configure_logging(
        settings.log_level, json_format=settings.log_json, service=settings.service_name
    )
    # uvloop, as uvicorn runs the APIs: a worker is mostly socket round trips (PostgreSQL,
    # NATS), which the default selector loop makes a good part of its CPU.
    uvloop.run(run_worker(settings, consumers, jobs=jobs))
