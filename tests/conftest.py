"""Cross-service fixtures: each service's database migrated, workers run for real."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.common.settings import BaseServiceSettings
from casebridge.common.worker import run_worker
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.intake import worker as intake_worker
from casebridge.intake.main import create_app as create_intake
from casebridge.intake.models import Area
from casebridge.intake.settings import Settings as IntakeSettings
from casebridge.stats import worker as stats_worker
from casebridge.stats.main import create_app as create_stats
from casebridge.stats.settings import Settings as StatsSettings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

COUNCIL, _ = DEMO_AGENCIES["council"]

COMPLAINT = {
    "channel": "phone",
    "nsir_category": "personal",
    "asb_type": "noise",
    "description": "Music until 3am",
    "occurred_at": "2026-11-20T23:30:00Z",
    "location": {"address": "1 Example Street", "postcode": "SW1A 1AA"},
    "complainant": {"details": {"name": "Ann Example", "phone": "020 7946 0018"}},
    "consent": {"status": "given"},
}
# Load and fault tests test the backbone, not person matching: no complainant.
ANONYMOUS = {k: v for k, v in COMPLAINT.items() if k not in ("complainant", "consent")} | {
    "anonymous": True
}

FAST = {"log_json": False, "relay_poll_interval_seconds": 0.2, "consumer_ack_wait_seconds": 5.0}


async def scalar(url: str, sql: str, **params: Any) -> Any:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def consumer_settled(nats_url: str, stream: str, durable: str) -> bool:
    """Nothing left for the consumer: every message delivered, and acked or terminated, so
    no further delivery (a wrongful duplicate included) can still happen."""
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().consumer_info(stream, durable)
    finally:
        await nc.close()
    return info.num_pending == 0 and info.num_ack_pending == 0


async def seed_intake_area(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Area)
            .values(id=DEMO_AREA_ID, code=DEMO_AREA_CODE, name=DEMO_AREA_NAME)
            .on_conflict_do_nothing()
        )
    await engine.dispose()


@asynccontextmanager
async def in_process_worker(
    settings: BaseServiceSettings, consumers: list[Any]
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, consumers, stop=stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


class System:
    """Intake and stats with their own databases on the session's servers."""

    def __init__(
        self, intake_db: str, stats_db: str, nats: NatsServer, tokens: TokenFactory
    ) -> None:
        self.intake = IntakeSettings(database_url=intake_db, nats_url=nats.url, **FAST)
        self.stats = StatsSettings(database_url=stats_db, nats_url=nats.url, **FAST)
        self.tokens = tokens

    def auth(self, settings: BaseServiceSettings, scopes: list[str]) -> dict[str, str]:
        return self.tokens.headers(
            scopes=scopes,
            agency_id=COUNCIL,
            area_id=DEMO_AREA_ID,
            audience=settings.audience_or_default(),
        )

    @asynccontextmanager
    async def intake_client(self) -> AsyncIterator[httpx.AsyncClient]:
        async with committed_client(create_intake, self.intake, self.tokens) as client:
            client.headers.update(self.auth(self.intake, ["complaints:write"]))
            yield client

    @asynccontextmanager
    async def stats_client(self) -> AsyncIterator[httpx.AsyncClient]:
        async with committed_client(create_stats, self.stats, self.tokens) as client:
            client.headers.update(self.auth(self.stats, ["stats:read"]))
            yield client

    def intake_worker(self) -> Any:
        return in_process_worker(self.intake, intake_worker.consumers(self.intake))

    def stats_worker(self) -> Any:
        return in_process_worker(self.stats, stats_worker.consumers(self.stats))

    async def stats_total(self) -> int:
        return int(
            await scalar(
                self.stats.database_url, "SELECT coalesce(sum(complaints), 0) FROM complaint_count"
            )
        )

    async def outbox_size(self) -> int:
        return int(await scalar(self.intake.database_url, "SELECT count(*) FROM outbox_message"))


@pytest.fixture
async def system(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tokens: TokenFactory
) -> System:
    """Fresh databases and a nats-server of its own: durable consumers are not shared with
    other tests, so nothing another test left unacked can be counted here."""
    intake_db = await migrated_database("intake")
    await seed_intake_area(intake_db)
    return System(intake_db, await migrated_database("stats"), own_nats, tokens)


@pytest.fixture
def system_on_own_nats(system: System, own_nats: NatsServer) -> tuple[System, NatsServer]:
    return system, own_nats


__all__ = ["ANONYMOUS", "COMPLAINT", "System", "consumer_settled", "func", "scalar", "select"]
