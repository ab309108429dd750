"""Trigger evaluation cost for one new complaint, against a large qualifying-complaint index.

    uv run python bench/review_bench.py --rows 1000000 [--url postgresql+asyncpg://...]

Builds `bench_review` on the machine's PostgreSQL (migrations, then rows by generate_series),
then times review's ComplaintLogged handler (index insert + every trigger rule) for new
complaints by people who already have a history, each in a transaction rolled back. The same
run measures a baseline: a `SELECT 1` round trip, and the handler against an empty index.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy import text

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.common.demo import DEMO_AREA_ID
from casebridge.common.events.envelope import Envelope
from casebridge.common.testing.harness import migrate
from casebridge.review.areas import ensure_config
from casebridge.review.handlers import on_complaint_logged
from casebridge.review.seed import demo_document
from casebridge.review.settings import Settings

TYPES = [
    "noise",
    "rowdy_neighbours",
    "vehicle_nuisance",
    "littering",
    "animal_problems",
    "trespass",
    "nuisance_communications",
    "street_drinking",
    "begging",
    "fireworks",
]

FILL = """
INSERT INTO indexed_complaint (complaint_id, reference, area_id, receiving_agency_id, person_id,
  incident_id, nsir_category, asb_type, place_key, perpetrator_keys, hate_motivated, anonymous,
  occurred_at, reported_at, qualifies)
SELECT gen_random_uuid(), 'B-' || g, $1::uuid, $1::uuid,
  ('00000000-0000-4000-8000-' || lpad(to_hex(g % $3), 12, '0'))::uuid, NULL, 'personal',
  (ARRAY['noise','rowdy_neighbours','vehicle_nuisance','littering','fireworks'])[1 + g % 5],
  'PC' || (g % 50000), ARRAY['hh:' || (g % 200000)], g % 97 = 0, false,
  now() - (g % 730) * interval '1 day' - interval '1 day', now() - (g % 730) * interval '1 day',
  true
FROM generate_series($2::bigint, $2::bigint + $4 - 1) AS g
"""


def person(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-{n:012x}")


def new_complaint(people: int) -> ComplaintLogged:
    now = datetime.now(UTC)
    return ComplaintLogged(
        complaint_id=uuid4(),
        reference="B-NEW",
        area_id=DEMO_AREA_ID,
        receiving_agency_id=DEMO_AREA_ID,
        person_id=person(random.randrange(max(people, 1))),
        channel="phone",
        nsir_category="personal",
        asb_type=random.choice(TYPES),
        occurred_at=now - timedelta(days=1),
        reported_at=now,
        postcode=f"PC{random.randrange(50000)}",
        perpetrator_keys=[f"hh:{random.randrange(200000)}"],
    )


async def fill(dsn: str, rows: int, people: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        have = await conn.fetchval("SELECT count(*) FROM indexed_complaint")
        chunk = 500_000
        for start in range(have, rows, chunk):
            await conn.execute(FILL, DEMO_AREA_ID, start, people, min(chunk, rows - start))
            print(f"  filled {min(start + chunk, rows):,} rows", flush=True)
        await conn.execute("ANALYZE indexed_complaint")
    finally:
        await conn.close()


async def time_handler(settings: Settings, people: int, samples: int) -> list[float]:
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    timings = []
    for i in range(samples + 20):
        event = new_complaint(people)
        envelope = Envelope(
            source="b", type=event.event_type(), subject="s", area_id=DEMO_AREA_ID, data={}
        )
        async with sessions() as session:
            # The runner has already begun the transaction and claimed the inbox row.
            await session.execute(text("SELECT 1"))
            started = time.perf_counter()
            await on_complaint_logged(session, envelope, event)
            await session.flush()
            elapsed = time.perf_counter() - started
            await session.rollback()
        if i >= 20:  # warm-up: connections, statement caches
            timings.append(elapsed * 1000)
    await engine.dispose()
    return timings


async def round_trip(settings: Settings, samples: int) -> list[float]:
    engine = make_engine(settings)
    timings = []
    async with engine.connect() as conn:
        for _ in range(samples):
            started = time.perf_counter()
            await conn.execute(text("SELECT 1"))
            timings.append((time.perf_counter() - started) * 1000)
    await engine.dispose()
    return timings


def show(label: str, timings: list[float]) -> None:
    timings = sorted(timings)
    p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))]  # noqa: E731
    print(
        f"{label:<46} p50 {statistics.median(timings):6.2f} ms  p95 {p(0.95):6.2f} ms  "
        f"p99 {p(0.99):6.2f} ms  (n={len(timings)})"
    )


async def prepare(url: str, name: str) -> Settings:
    admin = await asyncpg.connect(url.replace("+asyncpg", "").rsplit("/", 1)[0] + "/postgres")
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    db_url = url.rsplit("/", 1)[0] + "/" + name
    await migrate("review", db_url)
    settings = Settings(database_url=db_url, log_json=False)
    engine = make_engine(settings)
    async with make_sessionmaker(engine)() as session, session.begin():
        await ensure_config(session, area_id=DEMO_AREA_ID, document=demo_document(), author="bench")
    await engine.dispose()
    return settings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    people = max(args.rows // 5, 1)  # about five complaints per person over two years

    empty = await prepare(args.url, "bench_review_empty")
    large = await prepare(args.url, "bench_review")
    print(f"filling the index to {args.rows:,} complaints ({people:,} people)")
    started = time.perf_counter()
    await fill(large.database_url.replace("+asyncpg", ""), args.rows, people)
    print(f"  ({time.perf_counter() - started:.0f} s)")

    show("baseline: SELECT 1 round trip", await round_trip(large, args.samples))
    show("baseline: handler, empty index", await time_handler(empty, 0, args.samples))
    show(
        f"handler, {args.rows:,} complaints in the index",
        await time_handler(large, people, args.samples),
    )


if __name__ == "__main__":
    asyncio.run(main())
