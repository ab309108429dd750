"""Review's trigger engine against a large qualifying-complaint index, with a baseline.

    uv run python bench/review_bench.py --rows 10000000 [--samples 500] [--flow 300]

Builds `bench_review` on the machine's PostgreSQL (migrations, then rows by generate_series;
an index already filled is reused) and measures, in one run:

(a) evaluation cost per new complaint: review's ComplaintLogged handler (index insert + every
    trigger rule) in a transaction rolled back, for people who already have a history, and for
    complaints at a busy place (the community window full); statements per evaluation are
    counted, and the plan of the index statement is shown (EXPLAIN ANALYZE). Baselines in the
    same run: a `SELECT 1` round trip, and the handler against an empty index.
(b) intake commit to threshold event: ComplaintLogged envelopes are published to JetStream as
    intake's relay publishes them (subject, Nats-Msg-Id = event id), review's real worker (a
    separate process: consumer + outbox relay) evaluates them against the same index, and the
    time runs from the publish to the statutory TriggerRaised arriving on the REVIEW stream.
    Each victim's first two complaints go through the pipeline first (untimed); the third is
    timed, one at a time, so the figure is latency, not queueing. The nats-server is our own,
    on a free port, with `sync_interval: always` as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import nats
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.contracts.review import TriggerRaised
from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.common.events.envelope import Envelope
from casebridge.common.events.streams import ensure_streams
from casebridge.devstack import NatsServer, free_port
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.devstack.seeds.review import demo_document
from casebridge.review import index
from casebridge.review.areas import ensure_config
from casebridge.review.handlers import on_complaint_logged
from casebridge.review.settings import Settings
from casebridge.testing.harness import migrate

TYPES = ["noise", "rowdy_neighbours", "vehicle_nuisance", "littering", "fireworks"]
PLACES = 50_000

# About five complaints per person over two years; type follows place, so each (type, place)
# holds rows/PLACES complaints over two years (50 in six months at 10M).
FILL = """
INSERT INTO indexed_complaint (complaint_id, reference, area_id, receiving_agency_id, person_id,
  incident_id, nsir_category, asb_type, place_key, perpetrator_keys, hate_motivated, anonymous,
  occurred_at, reported_at, occurred_on, reported_on)
SELECT gen_random_uuid(), 'B-' || g, $1::uuid, $1::uuid,
  ('00000000-0000-4000-8000-' || lpad(to_hex(g % $3), 12, '0'))::uuid, NULL, 'personal',
  (ARRAY['noise','rowdy_neighbours','vehicle_nuisance','littering','fireworks'])[1 + g % 5],
  'PC' || (g % 50000), ARRAY['hh:' || (g % 200000)], g % 97 = 0, false,
  now() - (g % 730) * interval '1 day' - interval '1 day', now() - (g % 730) * interval '1 day',
  (now() - (g % 730) * interval '1 day' - interval '1 day')::date,
  (now() - (g % 730) * interval '1 day')::date
FROM generate_series($2::bigint, $2::bigint + $4 - 1) AS g
"""

# An area's trigger history: half about victims (their ids), half about community problems
# (`<type>@<place>`), over two years; each its own episode.
TRIGGER_FILL = """
INSERT INTO trigger (id, area_id, kind, person_id, subject_key, episode_key, state,
  complaint_ids, detail, raised_at)
SELECT gen_random_uuid(), $1::uuid, k.kind, k.person_id, k.subject_key,
  k.subject_key || '/' || g, 'open', ARRAY[gen_random_uuid()], '{}'::jsonb,
  now() - (g % 730) * interval '1 day'
FROM generate_series($2::bigint, $2::bigint + $4 - 1) AS g
CROSS JOIN LATERAL (
  SELECT CASE WHEN g % 2 = 0 THEN (ARRAY['second_report','statutory','hate'])[1 + g % 3]
              ELSE 'community' END AS kind,
         CASE WHEN g % 2 = 0 THEN
              ('00000000-0000-4000-8000-' || lpad(to_hex(g % $3), 12, '0'))::uuid END
           AS person_id,
         CASE WHEN g % 2 = 0 THEN '00000000-0000-4000-8000-' || lpad(to_hex(g % $3), 12, '0')
              ELSE (ARRAY['noise','rowdy_neighbours','vehicle_nuisance','littering',
                          'fireworks'])[1 + g % 5] || '@PC' || (g % 50000) END AS subject_key
) k
"""


def person(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-{n:012x}")


def new_complaint(people: int, *, busy_place: bool = False, **fields: Any) -> ComplaintLogged:
    """A complaint by someone with a history; at a busy place, of the type complained of there
    (else of a random type, mostly not the place's: a quiet community window)."""
    now = datetime.now(UTC)
    place = random.randrange(PLACES)
    values: dict[str, Any] = {
        "complaint_id": uuid4(),
        "reference": "B-NEW",
        "area_id": DEMO_AREA_ID,
        "receiving_agency_id": DEMO_AREA_ID,
        "person_id": person(random.randrange(max(people, 1))),
        "channel": "phone",
        "nsir_category": "personal",
        "asb_type": TYPES[place % 5] if busy_place else random.choice([*TYPES, "begging"]),
        "occurred_at": now - timedelta(days=1),
        "reported_at": now,
        "postcode": f"PC{place}",
        "perpetrator_keys": [f"hh:{random.randrange(200000)}"],
    }
    values.update(fields)
    return ComplaintLogged(**values)


def envelope_of(event: ComplaintLogged) -> Envelope:
    return Envelope(
        source="casebridge/intake",
        type=event.event_type(),
        subject=event.subject_for(event.area_id),
        area_id=event.area_id,
        data=event.model_dump(mode="json"),
    )


async def fill(dsn: str, rows: int, people: int, triggers: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        have = await conn.fetchval("SELECT count(*) FROM trigger WHERE detail = '{}'::jsonb")
        chunk = 250_000
        for start in range(have, triggers, chunk):
            await conn.execute(
                TRIGGER_FILL, DEMO_AREA_ID, start, people, min(chunk, triggers - start)
            )
            print(f"  filled {min(start + chunk, triggers):,} triggers", flush=True)
        have = await conn.fetchval(
            "SELECT count(*) FROM indexed_complaint WHERE reference <> 'B-NEW'"
        )
        chunk = 500_000
        for start in range(have, rows, chunk):
            await conn.execute(FILL, DEMO_AREA_ID, start, people, min(chunk, rows - start))
            print(f"  filled {min(start + chunk, rows):,} rows", flush=True)
        # Index-only reads need a current visibility map; autovacuum keeps it so in service.
        await conn.execute("VACUUM (ANALYZE) indexed_complaint")
        await conn.execute("VACUUM (ANALYZE) trigger")
    finally:
        await conn.close()


@contextmanager
def statement_counter(engine: AsyncEngine) -> Iterator[list[int]]:
    count = [0]

    def count_one(*_: Any) -> None:
        count[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count_one)
    try:
        yield count
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count_one)


async def time_handler(
    settings: Settings, people: int, samples: int, *, busy_place: bool = False, settled: bool
) -> list[tuple[float, int]]:
    """(ms, statements) per evaluation; more than one statement means a trigger was raised.

    `settled`: the victim's previous complaint (yesterday, same type and place) is first
    delivered and committed, so the triggers their history warrants exist, as they would in
    service; otherwise the filled history has no triggers and most evaluations raise one."""
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    timings = []
    for i in range(samples + 20):
        complaint = new_complaint(people, busy_place=busy_place)
        envelope = Envelope(
            source="b", type=complaint.event_type(), subject="s", area_id=DEMO_AREA_ID, data={}
        )
        if settled:
            yesterday = complaint.reported_at - timedelta(days=1)
            earlier = complaint.model_copy(
                update={
                    "complaint_id": uuid4(),
                    "reported_at": yesterday,
                    "occurred_at": yesterday - timedelta(days=1),
                }
            )
            async with sessions() as session, session.begin():
                await on_complaint_logged(session, envelope, earlier)
        async with sessions() as session:
            # The runner has already begun the transaction and claimed the inbox row.
            await session.execute(text("SELECT 1"))
            with statement_counter(engine) as count:
                started = time.perf_counter()
                await on_complaint_logged(session, envelope, complaint)
                await session.flush()
                elapsed = time.perf_counter() - started
            await session.rollback()
        if i >= 20:  # warm-up: connections, statement caches, the parsed procedure
            timings.append((elapsed * 1000, count[0]))
    await engine.dispose()
    return timings


def show_handler(label: str, timings: list[tuple[float, int]]) -> None:
    statements = sum(n for _, n in timings) / len(timings)
    show(label, [ms for ms, _ in timings], f"  {statements:.2f} statements each")
    quiet = [ms for ms, n in timings if n == 1]
    if quiet and len(quiet) < len(timings):
        show("  of which raising nothing (1 statement)", quiet)


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


async def explain(settings: Settings, people: int) -> None:
    """The plan of the index statement for one busy-place complaint, rolled back."""
    complaint = new_complaint(people, busy_place=True)
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        compiled = index.WINDOWS.compile(dialect=make_engine(settings).dialect)
        names = list(compiled.positiontup or [])
        sql = str(compiled)
        params = index.window_params(complaint)
        async with conn.transaction():
            plan = await conn.fetch(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, *[params[n] for n in names]
            )
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await conn.close()
    print("plan of the index statement (busy place, EXPLAIN ANALYZE):")
    for (line,) in plan:
        shown = (
            "Index",
            "Seq Scan",
            "Bitmap",
            "Insert on",
            "Rows Removed",
            "Execution Time",
            "Planning Time",
        )
        if any(k in line for k in shown):
            print("   ", line)


class _Rollback(Exception):
    pass


def show(label: str, timings: list[float], extra: str = "") -> None:
    timings = sorted(timings)

    def pct(q: float) -> float:
        return timings[min(len(timings) - 1, int(q * len(timings)))]

    print(
        f"{label:<52} p50 {statistics.median(timings):7.2f} ms  p95 {pct(0.95):7.2f} ms  "
        f"p99 {pct(0.99):7.2f} ms  (n={len(timings)}){extra}",
        flush=True,
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


async def flow(settings: Settings, people: int, victims: int) -> list[float]:
    """Publish-to-threshold-event latency (ms) through review's real worker process."""
    with tempfile.TemporaryDirectory(prefix="review-bench-nats-") as tmp:
        server = NatsServer(Path(tmp), free_port()).start()
        env = {
            **os.environ,
            "REVIEW_DATABASE_URL": settings.database_url,
            "REVIEW_NATS_URL": server.url,
            "REVIEW_LOG_JSON": "false",
            "REVIEW_LOG_LEVEL": "WARNING",
        }
        client = await nats.connect(server.url)
        worker = None
        try:
            await ensure_streams(client.jetstream())
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "casebridge.review.worker", env=env
            )
            return await _timed_victims(client, people, victims)
        finally:
            if worker is not None:
                worker.terminate()
                await asyncio.wait_for(worker.wait(), 30)
            await client.close()
            server.stop()


async def _timed_victims(client: Any, people: int, victims: int) -> list[float]:
    js = client.jetstream()
    arrived: dict[tuple[UUID, str], float] = {}
    wake = asyncio.Event()

    async def on_raised(message: Any) -> None:
        raised = TriggerRaised.model_validate(Envelope.model_validate_json(message.data).data)
        for complaint_id in raised.complaint_ids:
            arrived.setdefault((complaint_id, raised.kind), time.perf_counter())
        wake.set()

    await client.subscribe("review.*.trigger.raised.v1", cb=on_raised)

    async def publish(event: ComplaintLogged) -> float:
        body = envelope_of(event)
        started = time.perf_counter()
        await js.publish(
            body.subject, body.model_dump_json().encode(), headers={"Nats-Msg-Id": str(body.id)}
        )
        return started

    async def wait_for(key: tuple[UUID, str], timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while key not in arrived:
            wake.clear()
            if key in arrived:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {key[1]} trigger for {key[0]}")
            await asyncio.wait_for(wake.wait(), remaining)
        return arrived[key]

    latencies = []
    now = datetime.now(UTC)
    for n in range(victims + 10):
        # New victims (ids above the filled ones) in the busy index: three complaints to three
        # agencies about one behaviour in three weeks; the third meets the statutory threshold.
        victim = person(people + 1_000_000 + n + random.randrange(1_000_000) * 1000)
        place = f"V{n} {random.randrange(1000)}"
        events = [
            new_complaint(
                1,
                person_id=victim,
                asb_type="noise",
                postcode=place,
                reported_at=now - timedelta(days=d),
                occurred_at=now - timedelta(days=d + 1),
                receiving_agency_id=uuid4(),
            )
            for d in (20, 10, 0)
        ]
        await publish(events[0])
        await publish(events[1])
        await wait_for((events[1].complaint_id, "second_report"))
        started = await publish(events[2])
        done = await wait_for((events[2].complaint_id, "statutory"))
        if n >= 10:  # warm-up: consumer binding, caches
            latencies.append((done - started) * 1000)
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument(
        "--triggers", type=int, default=None, help="the area's trigger history (rows / 20)"
    )
    parser.add_argument("--flow", type=int, default=300, help="victims timed end to end")
    parser.add_argument("--db", default="bench_review", help="the large index's database")
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    people = max(args.rows // 5, 1)
    triggers = args.rows // 20 if args.triggers is None else args.triggers

    empty = await prepare(args.url, "bench_review_empty")
    large = await prepare(args.url, args.db)
    print(
        f"filling the index to {args.rows:,} complaints ({people:,} people) "
        f"and {triggers:,} triggers"
    )
    started = time.perf_counter()
    await fill(large.database_url.replace("+asyncpg", ""), args.rows, people, triggers)
    print(f"  ({time.perf_counter() - started:.0f} s)")
    print(f"load average before timing: {os.getloadavg()}", flush=True)

    print("(a) evaluation cost per new complaint")
    show("baseline: SELECT 1 round trip", await round_trip(large, args.samples))
    empty_timings = await time_handler(empty, 0, args.samples, settled=False)
    show_handler("baseline: handler, empty index", empty_timings)
    for settled in (True, False):
        state = "history's triggers raised" if settled else "no triggers yet"
        for busy in (False, True):
            label = f"handler, {args.rows // 1_000_000}M, {state}{', busy place' if busy else ''}"
            timings = await time_handler(
                large, people, args.samples, busy_place=busy, settled=settled
            )
            show_handler(label, timings)
    await explain(large, people)

    print("(b) intake publish -> statutory TriggerRaised on the REVIEW stream")
    show(f"latency, {args.rows:,} in the index", await flow(large, people, args.flow))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
