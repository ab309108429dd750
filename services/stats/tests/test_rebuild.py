"""`casebridge-stats rebuild`: wipe the read models, replay the streams from the start, and get
byte-identical answers; refuse when a stream has lost its first messages. Real nats-server,
real worker, the real console script."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.common.events.connection import NatsLink
from casebridge.common.events.envelope import Envelope
from casebridge.common.worker import run_worker
from casebridge.devstack import NatsServer
from casebridge.stats import worker
from casebridge.stats.main import create_app
from casebridge.stats.routes.deps import today
from casebridge.stats.settings import Settings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from casebridge.testing.tokens import TokenFactory

from .conftest import TODAY
from .events import (
    HOUSING,
    POLICE,
    Review,
    at,
    complaint,
    disclosure,
    envelope,
    repeat_victim,
    risk,
    trigger,
)

CLI = Path(sys.executable).with_name("casebridge-stats")
QUERIES = [
    "/stats/case-reviews",
    "/stats/case-reviews?period=quarter&format=csv",
    "/stats/case-reviews?period=month&date_from=2025-01-01&date_to=2026-11-30",
    "/stats/case-reviews?period=range&date_from=2025-04-01&date_to=2026-03-31&format=csv",
    "/stats/complaints",
    "/stats/monthly/complaints?by=asb_type&to=2026-10&months=24&format=csv",
    "/stats/monthly/complaints?by=postcode_district&to=2026-10",
    "/stats/monthly/threshold_met_rate?to=2026-10&months=24",
    "/stats/monthly/days_to_decision?to=2026-10&months=24",
    "/stats/monthly/deadlines_met_share?by=stage&to=2026-10&months=24&format=csv",
    "/stats/monthly/partner_deliveries?by=agency&to=2026-10",
    "/stats/monthly/second_report_prompts_explained?to=2026-10",
    "/stats/monthly/high_risk_assessments?to=2026-10",
    "/stats/monthly/repeat_victims?to=2026-10",
    "/stats/data-return?quarter=2025-26-Q3&format=csv",
    "/stats/data-return?quarter=2026-27-Q1",
]


def history(area: uuid.UUID) -> list[Envelope]:
    """A year and a half of an area's events, shuffled (so decisions often precede their
    applications)."""
    generator = random.Random(7)
    events: list[Envelope] = []
    for i in range(12):
        review = Review(area)
        month = 4 + i % 9
        year = 2025
        days = [
            f"{year}-{month:02d}-{d:02d}T{h:02d}:30"
            for d, h in ((2, 9), (6, 10), (20, 23), (25, 11))
        ]
        if i % 3 == 0:
            events += [review.applied(days[0]), review.decided(days[1], met=False)]
        else:
            events += review.carried_out(*days)
        if i % 4 == 0:
            events.append(review.missed("acknowledge", days[1]))
    for i in range(60):
        reported = at(f"2025-{4 + i % 9:02d}-{1 + i % 27:02d}T23:30")
        kind = generator.choice(["noise", "fireworks", "rowdy_neighbours", "littering_drugs"])
        events.append(
            envelope(
                complaint(
                    area,
                    asb_type=kind,
                    reported_at=reported,
                    postcode=generator.choice(["SW1A 1AA", "M1 1AE", None]),
                ),
                area,
            )
        )
    for i in range(5):
        events += trigger(
            area,
            "second_report",
            f"2025-06-{i + 1:02d}T10:00",
            "2025-06-20T10:00" if i % 2 else None,
        )
        events.append(risk(area, "high" if i % 2 else "medium", f"2025-07-{i + 1:02d}T10:00"))
        events.append(repeat_victim(area, f"2025-08-{i + 1:02d}T10:00"))
        events.append(disclosure(area, POLICE if i % 2 else HOUSING, f"2025-09-{i + 1:02d}T10:00"))
    generator.shuffle(events)
    return events


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, worker.consumers(settings), stop=stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def scalar(url: str, sql: str) -> Any:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def wait_for(url: str, sql: str, expected: int, timeout: float = 60) -> None:
    async def reached() -> bool:
        return int(await scalar(url, sql) or 0) == expected

    await poll(reached, timeout, what=f"{sql} = {expected}")


async def answers(settings: Settings, tokens: TokenFactory, area: uuid.UUID) -> dict[str, bytes]:
    headers = tokens.headers(
        scopes=["stats:read"], agency_id=uuid.uuid4(), area_id=area,
        audience=settings.audience_or_default(),
    )  # fmt: skip
    found = {}
    async with committed_client(create_app, settings, tokens) as client:
        client._transport.app.dependency_overrides[today] = lambda: TODAY  # type: ignore[attr-defined]
        for query in QUERIES:
            response = await client.get(query, headers=headers)
            assert response.status_code == 200, (query, response.text)
            found[query] = response.content
        page = await client.get("/public/DMO/case-reviews")
        assert page.status_code == 200
        found["public page"] = page.content
    return found


def rebuild_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STATS_DATABASE_URL": settings.database_url,
        "STATS_NATS_URL": settings.nats_url,
        "STATS_LOG_JSON": "false",
    }
    return subprocess.run(
        [str(CLI), "rebuild", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_rebuild_gives_byte_identical_answers(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tokens: TokenFactory
) -> None:
    url = await migrated_database("stats")
    settings = Settings(
        database_url=url, nats_url=own_nats.url, log_json=False, consumer_ack_wait_seconds=5.0
    )
    area = uuid.uuid4()
    events = history(area)
    link = NatsLink(own_nats.url, name="publisher")
    await link.connect()
    for env in events:
        await link.js.publish(
            env.subject, env.model_dump_json().encode(), headers={"Nats-Msg-Id": str(env.id)}
        )
    await link.js.publish(f"intake.{area}.complaint.logged.v1", b'{"postcode": "SW1A 1AA"}')
    inbox = "SELECT count(*) FROM processed_message"
    async with running_worker(settings):
        await wait_for(url, inbox, len(events))
        await wait_for(url, "SELECT count(*) FROM dead_letter", 1)
        before = await answers(settings, tokens, area)
        # the garbage message is dead-lettered without its payload or the values it quoted
        assert await scalar(url, "SELECT raw FROM dead_letter") is None
        assert await scalar(url, "SELECT reason FROM dead_letter") == "unparseable event"
        # a count gone wrong (as after a bug) is put right by the rebuild
        await scalar(url, "UPDATE daily_count SET value = value + 100 RETURNING 1")
        await scalar(url, "UPDATE monthly_count SET value = value + 100 RETURNING 1")
        assert await answers(settings, tokens, area) != before
        done = await asyncio.to_thread(rebuild_cli, settings, "--yes")
        assert done.returncode == 0, done.stderr
        assert f"rebuilt from {len(events) + 1:,} messages" in done.stderr
        assert int(await scalar(url, inbox)) == len(events)
        after = await answers(settings, tokens, area)
    assert after.keys() == before.keys()
    for query, body in before.items():
        assert after[query] == body, query
    assert b"<svg" in before["public page"]
    assert before["/stats/case-reviews"].count(b'"applications"') == 4  # 3 years + definition

    await link.js.delete_msg("INTAKE", 1)
    refused = await asyncio.to_thread(rebuild_cli, settings, "--yes")
    await link.close()
    assert refused.returncode == 2
    assert "INTAKE" in refused.stderr
    assert "--allow-partial" in refused.stderr
    assert await answers(settings, tokens, area) == before  # nothing was wiped
