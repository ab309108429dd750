"""Review worker: relays review's outbox, consumes intake's events and the registry's (its
replicas of the partner registry and the information-sharing protocol), watches deadlines,
and announces the areas' procedures in force when it starts."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from casebridge.common import worker
from casebridge.common.events.consumer import Consumer
from casebridge.common.events.errors import retry_while_unavailable
from casebridge.common.isp.replica import registry_consumer
from casebridge.review import areas
from casebridge.review.deadlines import deadline_watcher
from casebridge.review.handlers import intake_consumer
from casebridge.review.settings import Settings

log = logging.getLogger(__name__)


async def announce_procedures_at_start(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event
) -> None:
    """Once, when the worker starts (waiting out the database if it is away)."""

    async def announce() -> None:
        async with sessionmaker() as session, session.begin():
            announced = await areas.announce_procedures(session)
        log.info("announced the procedure in force of %d areas", announced)

    await retry_while_unavailable(announce, stop)


def consumers(settings: Settings) -> list[Consumer]:
    return [
        intake_consumer(
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        ),
        registry_consumer(
            "review",
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        ),
    ]


def main() -> None:
    settings = Settings()
    jobs = [
        deadline_watcher(settings.deadline_check_interval_seconds),
        announce_procedures_at_start,
    ]
    worker.main(settings, consumers(settings), jobs=jobs)


if __name__ == "__main__":
    main()
