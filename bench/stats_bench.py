"""Stats' published figures at national scale, beside a naive GROUP BY over raw events.

    uv run python bench/stats_bench.py [--complaints 10000000] [--reviews 100000] [--samples 300]
                                       [--keep]

Builds `bench_stats` on the machine's PostgreSQL (127.0.0.1:5432, trust auth): the stats
migrations, then
- `raw_event`: every event as a row (area, type, time, JSONB payload), indexed on
  (area_id, type, occurred_at): the naive store a report would GROUP BY;
- the read models: complaints counted into `complaint_count` by one INSERT .. SELECT from the
  raw rows (a complaint adds one to its cell: the projection is that count); every review
  event applied through stats' REAL handlers and inbox, in batches as the worker applies them.
Reviews are spread over 20 areas and about five and a half years: applied, decided (a third
not met, a tenth of those escalated and decided again), met ones held and most given
recommendations.

Then, for one area, measured one call after another (`--samples` each; the slow naive
baseline `--naive-samples`), in the same run:
(1) the four counts for the last three financial years: GET /stats/case-reviews through the
    real app (in-process ASGI, token verified), and the same counts by GROUP BY over raw_event;
(2) a 12-month breakdown of complaints by type and agency: the read model's statement, the
    API's `/stats/monthly/complaints?by=asb_type` and `?by=agency` (each with its 12-month
    year-on-year baseline), and the same breakdown by GROUP BY over raw_event.
Both sides must give the same numbers (checked). Prints p50/p99 and the ratio, and the load
average. Drops the database at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from casebridge.common.events.envelope import Envelope
from casebridge.stats.main import create_app
from casebridge.stats.periods import local_date
from casebridge.stats.routes.deps import today
from casebridge.stats.settings import Settings
from casebridge.testing.harness import migrate, trust
from casebridge.testing.tokens import TokenFactory

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "bench_stats"
URL = f"postgresql://postgres@127.0.0.1:5432/{DB}"
AREAS = 20
START = datetime(2021, 4, 1, tzinfo=UTC)
DAYS = 2067  # to 28 November 2026
TODAY = date(2026, 11, 29)
TYPES = ["vehicle_abandoned", "vehicle_nuisance", "rowdy_behaviour", "rowdy_neighbours",
         "littering_drugs", "animal_problems", "trespass", "nuisance_communications",
         "street_drinking", "prostitution", "noise", "begging", "fireworks", "other"]  # fmt: skip
CHANNELS = ["phone", "online", "email", "in_person", "letter", "open311"]
NSIR = ["personal", "nuisance", "environmental"]


def area_ids() -> list[uuid.UUID]:
    return [uuid.UUID(int=0xA000 + i) for i in range(AREAS)]


def agencies(area: uuid.UUID) -> list[uuid.UUID]:
    return [uuid.UUID(int=area.int * 16 + k) for k in range(3)]


async def filled(complaints: int) -> bool:
    """A kept bench_stats with at least `complaints` complaints (and its review facts)."""
    try:
        conn = await asyncpg.connect(URL)
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        found = await conn.fetchval(
            "SELECT sum(complaints) FROM complaint_count WHERE EXISTS (SELECT 1 FROM review_fact)"
        )
    except asyncpg.UndefinedTableError:
        return False
    finally:
        await conn.close()
    return (found or 0) >= complaints


async def create_database(complaints: int) -> None:
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()
    await migrate("stats", URL.replace("postgresql://", "postgresql+asyncpg://"))
    conn = await asyncpg.connect(URL)
    await conn.execute(
        "CREATE TABLE raw_event (id bigserial PRIMARY KEY, area_id uuid NOT NULL, "
        "type text NOT NULL, occurred_at timestamptz NOT NULL, data jsonb NOT NULL)"
    )
    areas = [str(a) for a in area_ids()]
    agency_list = [[str(x) for x in agencies(a)] for a in area_ids()]
    started = time.perf_counter()
    # One INSERT .. SELECT per million: the same pseudo-random spread every run.
    for first in range(0, complaints, 1_000_000):
        await conn.execute(
            """
            INSERT INTO raw_event (area_id, type, occurred_at, data)
            SELECT ($1::uuid[])[1 + g % $3], 'intake.complaint.logged.v1',
                   $4::timestamptz + ((g * 7919) % ($5 * 86400)) * interval '1 second',
                   jsonb_build_object(
                     'receiving_agency_id', ($2::text[])[1 + g % $3][1 + (g / 7) % 3],
                     'asb_type', ($6::text[])[1 + (g * 31) % 14],
                     'nsir_category', ($7::text[])[1 + (g * 17) % 3],
                     'channel', ($8::text[])[1 + (g * 13) % 6],
                     'hate_motivated', (g % 50 = 0),
                     'postcode', 'SW1A 1AA', 'person_id', gen_random_uuid())
            FROM generate_series($9::bigint, $10::bigint) AS g
            """,
            areas, agency_list, AREAS, START, DAYS, TYPES, NSIR, CHANNELS,
            first + 1, min(first + 1_000_000, complaints),
        )  # fmt: skip
    print(f"  raw complaints: {complaints:,} rows in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    await conn.execute(
        """
        INSERT INTO complaint_count (area_id, month, agency_id, asb_type, nsir_category,
                                     channel, hate_motivated, complaints)
        SELECT area_id, date_trunc('month', occurred_at AT TIME ZONE 'Europe/London')::date,
               (data->>'receiving_agency_id')::uuid, data->>'asb_type', data->>'nsir_category',
               data->>'channel', (data->>'hate_motivated')::bool, count(*)
        FROM raw_event WHERE type = 'intake.complaint.logged.v1' GROUP BY 1, 2, 3, 4, 5, 6, 7
        """
    )
    cells = await conn.fetchval("SELECT count(*) FROM complaint_count")
    print(f"  complaint_count: {cells:,} cells in {time.perf_counter() - started:.0f} s")
    await conn.close()


def review_events(reviews: int) -> list[Envelope]:
    """Every review's events, shuffled within batches as a stream would interleave them."""
    from casebridge.common.contracts.review import (
        RecommendationsMade,
        ReviewApplied,
        ReviewTransitioned,
        ThresholdDecided,
    )

    generator = random.Random(2026)
    events: list[Envelope] = []
    areas = area_ids()

    def add(contract: Any, area: uuid.UUID) -> None:
        events.append(
            Envelope(source="review", type=contract.event_type(),
                     subject=contract.subject_for(area), area_id=area,
                     data=contract.model_dump(mode="json"))
        )  # fmt: skip

    for i in range(reviews):
        area = areas[i % AREAS]
        review_id, ref = uuid.uuid4(), f"CR-A{i % AREAS:02d}-2026-{i:06d}"
        applied = START + timedelta(seconds=generator.randrange(DAYS * 86400 - 60 * 86400))
        common = {"review_id": review_id, "reference": ref}
        add(
            ReviewApplied(
                **common,
                applicant_kind="victim",
                received_by_agency_id=agencies(area)[0],
                complaint_ids=[],
                automatic=generator.random() < 0.2,
                applied_at=applied,
            ),
            area,
        )
        met = generator.random() >= 1 / 3
        add(
            ThresholdDecided(
                **common,
                met=met,
                automatic=False,
                qualifying_incidents=3,
                decided_at=applied + timedelta(days=7),
            ),
            area,
        )
        if not met and generator.random() < 0.1:
            met = generator.random() < 0.5
            add(
                ThresholdDecided(
                    **common,
                    met=met,
                    automatic=False,
                    qualifying_incidents=3,
                    decided_at=applied + timedelta(days=30),
                ),
                area,
            )
        if met and generator.random() < 0.8:
            held = applied + timedelta(days=40)
            add(
                ReviewTransitioned(
                    **common,
                    action="hold_meeting",
                    from_state="meeting_scheduled",
                    to_state="meeting_held",
                    at=held,
                ),
                area,
            )
            if generator.random() < 0.9:
                add(
                    RecommendationsMade(
                        **common,
                        lead_agency_id=agencies(area)[0],
                        recommendations=2,
                        actions=[],
                        victim_consulted=True,
                        agreed_at=held + timedelta(days=5),
                    ),
                    area,
                )
    generator.shuffle(events)
    return events


def replay_in_memory(events: list[Envelope]) -> tuple[list[Any], list[Any]]:
    """Stats' own merging (`counting`) over every review event, in the stream's order."""
    from casebridge.common.events.envelope import contract_for
    from casebridge.stats import counting
    from casebridge.stats.models import ReviewFact, ReviewStage

    reviews: dict[uuid.UUID, ReviewFact] = {}
    stages: dict[tuple[uuid.UUID, str], ReviewStage] = {}

    def fact(env: Envelope, review_id: uuid.UUID) -> ReviewFact:
        return reviews.setdefault(review_id, ReviewFact(review_id=review_id, area_id=env.area_id))

    def stage(env: Envelope, review_id: uuid.UUID, name: str) -> ReviewStage:
        key = (review_id, name)
        return stages.setdefault(
            key, ReviewStage(review_id=review_id, stage=name, area_id=env.area_id)
        )

    for env in events:
        contract = contract_for(env.type)
        assert contract is not None
        event: Any = contract.model_validate(env.data)
        if env.type.endswith("applied.v1"):
            counting.applied(fact(env, event.review_id), event)
        elif env.type.endswith("transitioned.v1"):
            done = counting.transitioned(fact(env, event.review_id), event)
            if done:
                counting.done(stage(env, event.review_id, done), local_date(event.at))
        elif env.type.endswith("threshold_decided.v1"):
            counting.decided(fact(env, event.review_id), event)
            on = local_date(event.decided_at)
            counting.done(stage(env, event.review_id, "threshold_decision"), on)
        elif env.type.endswith("recommendations_made.v1"):
            counting.recommended(fact(env, event.review_id), event)
    return list(reviews.values()), list(stages.values())


async def load_reviews(reviews: int, sample: int) -> None:
    """Review events: into raw_event; through stats' merging into the facts, and from the
    facts into the daily counts (`counting.derived`, which tests hold equal to what the
    worker's incremental path builds). A sample also goes through the worker's real path
    (inbox + handlers, batches of 500) to show its throughput."""
    from casebridge.stats import counting
    from casebridge.stats.models import ReviewFact, ReviewStage

    events = review_events(reviews)
    conn = await asyncpg.connect(URL)
    await conn.copy_records_to_table(
        "raw_event",
        records=[(e.area_id, e.type, _moment(e), _json(e)) for e in events],
        columns=["area_id", "type", "occurred_at", "data"],
    )
    started = time.perf_counter()
    facts, stages = replay_in_memory(events)
    columns = [c.name for c in ReviewFact.__table__.columns]
    await conn.copy_records_to_table(
        "review_fact", records=[tuple(getattr(f, c) for c in columns) for f in facts],
        columns=columns,
    )  # fmt: skip
    stage_columns = [c.name for c in ReviewStage.__table__.columns]
    await conn.copy_records_to_table(
        "review_stage", records=[tuple(getattr(s, c) for c in stage_columns) for s in stages],
        columns=stage_columns,
    )  # fmt: skip
    cells = counting.derived(facts, stages, [])
    await conn.copy_records_to_table(
        "daily_count",
        records=[(a, day, m, d, v) for (a, m, d, day), v in cells.items()],
        columns=["area_id", "day", "measure", "detail", "value"],
    )
    await conn.execute(  # what the worker keeps beside them, as the migration fills it
        "INSERT INTO monthly_count (area_id, month, measure, detail, value) "
        "SELECT area_id, date_trunc('month', day)::date, measure, detail, sum(value) "
        "FROM daily_count GROUP BY 1, 2, 3, 4"
    )
    await conn.executemany(
        "INSERT INTO area (area_id, code, code_from) VALUES ($1, $2, 'review')",
        [(a, f"A{i:02d}") for i, a in enumerate(area_ids())],
    )
    print(f"  {len(events):,} review events -> {len(facts):,} review facts, {len(cells):,} "
          f"daily cells in {time.perf_counter() - started:.0f} s")  # fmt: skip
    started = time.perf_counter()
    await conn.execute("CREATE INDEX ix_raw_event ON raw_event (area_id, type, occurred_at)")
    await conn.execute("VACUUM ANALYZE")
    print(f"  raw_event index and VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")
    await conn.close()
    await worker_path(sample)


async def worker_path(sample: int) -> None:
    """The worker's own path (inbox + handlers, one transaction per 500) for `sample` more
    review events, in an area of their own: events per second, for the record."""
    from casebridge.common.db import make_engine, make_sessionmaker
    from casebridge.common.events.connection import NatsLink
    from casebridge.common.events.consumer import ConsumerRunner
    from casebridge.common.events.envelope import contract_for
    from casebridge.stats.worker import consumers

    area = uuid.UUID(int=0xB000)  # an area of its own: the measured areas stay as they were
    events = [e.model_copy(update={"area_id": area}) for e in review_events(sample // 3 + 1)]
    settings = Settings(database_url=URL.replace("postgresql://", "postgresql+asyncpg://"))
    engine = make_engine(settings)
    (review,) = [c for c in consumers(settings) if c.stream == "REVIEW"]
    runner = ConsumerRunner(
        review, NatsLink("nats://unused", name="bench"), make_sessionmaker(engine)
    )
    started = time.perf_counter()
    for first in range(0, len(events), 500):
        batch = []
        for env in events[first : first + 500]:
            contract = contract_for(env.type)
            assert contract is not None
            batch.append((review.handlers[env.type], env, contract.model_validate(env.data)))
        await runner._apply_many(batch)()
    elapsed = time.perf_counter() - started
    await engine.dispose()
    print(f"  worker path: {len(events):,} review events through inbox + handlers in "
          f"{elapsed:.1f} s ({len(events) / elapsed:,.0f}/s, load average "
          f"{os.getloadavg()[0]:.2f})")  # fmt: skip


def _moment(env: Envelope) -> datetime:
    data = env.data
    found = (
        data.get("applied_at") or data.get("decided_at") or data.get("at") or data.get("agreed_at")
    )
    return datetime.fromisoformat(str(found))


def _json(env: Envelope) -> str:
    return json.dumps(env.data)


FY = [(date(2024, 4, 1), date(2025, 3, 31)), (date(2025, 4, 1), date(2026, 3, 31)),
      (date(2026, 4, 1), date(2027, 3, 31))]  # fmt: skip
LOCAL = "(occurred_at AT TIME ZONE 'Europe/London')::date"
NAIVE_FOUR = f"""
WITH r AS (
  SELECT type, data->>'review_id' AS rid, {LOCAL} AS day, occurred_at, data->>'action' AS action,
         (data->>'met')::bool AS met, (data->>'recommendations')::int AS recs
  FROM raw_event WHERE area_id = $1 AND type LIKE 'review.%'
), decided AS (
  SELECT rid, (array_agg(met ORDER BY occurred_at DESC, met DESC))[1] AS last_met,
         min(day) FILTER (WHERE NOT met) AS first_not_met
  FROM r WHERE type = 'review.case_review.threshold_decided.v1' GROUP BY rid
), held AS (
  SELECT rid, min(day) AS held FROM r
  WHERE type = 'review.case_review.transitioned.v1' AND action = 'hold_meeting' GROUP BY rid
), recommended AS (
  SELECT rid, min(day) AS agreed FROM r
  WHERE type = 'review.case_review.recommendations_made.v1' AND recs > 0 GROUP BY rid
), facts AS (
  SELECT rid, min(day) FILTER (WHERE type = 'review.case_review.applied.v1') AS applied
  FROM r GROUP BY rid
)
SELECT p.s,
  (SELECT count(*) FROM facts WHERE applied BETWEEN p.s AND p.e),
  (SELECT count(*) FROM decided WHERE NOT last_met AND first_not_met BETWEEN p.s AND p.e),
  (SELECT count(*) FROM held WHERE held BETWEEN p.s AND p.e),
  (SELECT count(*) FROM recommended JOIN held USING (rid) WHERE agreed BETWEEN p.s AND p.e)
FROM unnest($2::date[], $3::date[]) AS p(s, e) ORDER BY p.s
"""  # fmt: skip
NAIVE_BREAKDOWN = f"""
SELECT date_trunc('month', {LOCAL})::date AS month, data->>'asb_type',
       data->>'receiving_agency_id', count(*)
FROM raw_event WHERE area_id = $1 AND type = 'intake.complaint.logged.v1'
  AND occurred_at >= ($2::date::timestamp AT TIME ZONE 'Europe/London')
  AND occurred_at < ($3::date::timestamp AT TIME ZONE 'Europe/London')
GROUP BY 1, 2, 3
"""  # fmt: skip
MODEL_BREAKDOWN = """
SELECT month, asb_type, agency_id::text, sum(complaints) FROM complaint_count
WHERE area_id = $1 AND month >= $2 AND month < $3 GROUP BY 1, 2, 3
"""


async def timed(samples: int, call: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    result = await call()  # warm
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def summary(name: str, times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"  {name:<58} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms   (n={len(times)})")
    return p50, p99


async def measure(samples: int, naive_samples: int) -> None:
    area = area_ids()[0]
    tokens = TokenFactory.generate()
    settings = Settings(database_url=URL.replace("postgresql://", "postgresql+asyncpg://"),
                        log_json=False, log_level="WARNING")  # fmt: skip
    app = create_app(settings)
    app.dependency_overrides[today] = lambda: TODAY

    def headers() -> dict[str, str]:
        """A fresh token (they live 10 minutes; the naive baseline takes longer than that)."""
        return tokens.headers(scopes=["stats:read"], agency_id=agencies(area)[0], area_id=area,
                              audience=settings.audience_or_default())  # fmt: skip

    conn = await asyncpg.connect(URL)
    try:
        await _measure(conn, app, tokens, settings, headers, samples, naive_samples)
    finally:
        await conn.close()


async def _measure(
    conn: Any, app: Any, tokens: TokenFactory, settings: Settings,
    headers: Callable[[], dict[str, str]], samples: int, naive_samples: int,
) -> None:  # fmt: skip
    area = area_ids()[0]
    await conn.execute("SET jit = off")
    first, last = date(2025, 11, 1), date(2026, 11, 1)
    async with app.router.lifespan_context(app):
        trust(app, tokens, settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def api(path: str) -> Any:
                response = await client.get(path)
                assert response.status_code == 200, response.text
                return response.json()

            print(f"\n(1) the four counts, last three financial years, area {area} "
                  f"(load average {os.getloadavg()[0]:.2f})")  # fmt: skip
            client.headers.update(headers())
            api_times, body = await timed(samples, lambda: api("/stats/case-reviews"))
            naive_times, naive = await timed(
                naive_samples,
                lambda: conn.fetch(NAIVE_FOUR, area, [s for s, _ in FY], [e for _, e in FY]),
            )
            ours = [tuple(r[k] for k in ("applications", "threshold_not_met",
                                          "reviews_carried_out", "reviews_with_recommendations"))
                    for r in body["rows"]]  # fmt: skip
            theirs = [tuple(r)[1:] for r in naive]
            assert ours == theirs, (ours, theirs)
            print(f"  figures (both sides): {ours}")
            a = summary("GET /stats/case-reviews (read model, through the API)", api_times)
            b = summary("naive GROUP BY over raw_event (SQL only)", naive_times)
            print(f"  naive / read model: p50 x{b[0] / a[0]:.1f}, p99 x{b[1] / a[1]:.1f}")

            print(f"\n(2) 12 months of complaints by type and agency, {first} to {last} "
                  f"(load average {os.getloadavg()[0]:.2f})")  # fmt: skip
            model_times, model = await timed(
                samples, lambda: conn.fetch(MODEL_BREAKDOWN, area, first, last)
            )
            naive_times, naive = await timed(
                naive_samples, lambda: conn.fetch(NAIVE_BREAKDOWN, area, first, last)
            )
            assert sorted(map(tuple, model)) == sorted(map(tuple, naive))
            total = sum(r[3] for r in model)
            print(f"  {len(model):,} cells, {total:,} complaints (both sides)")
            query = "to=2026-10&months=12"
            client.headers.update(headers())
            by_type, _ = await timed(
                samples, lambda: api(f"/stats/monthly/complaints?by=asb_type&{query}")
            )
            by_agency, _ = await timed(
                samples, lambda: api(f"/stats/monthly/complaints?by=agency&{query}")
            )
            c = summary("read model GROUP BY month, type, agency (SQL only)", model_times)
            summary("GET /stats/monthly/complaints?by=asb_type (API, +YoY year)", by_type)
            summary("GET /stats/monthly/complaints?by=agency (API, +YoY year)", by_agency)
            d = summary("naive GROUP BY over raw_event (SQL only)", naive_times)
            print(f"  naive / read model: p50 x{d[0] / c[0]:.1f}, p99 x{d[1] / c[1]:.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=int, default=10_000_000)
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument(
        "--naive-samples", type=int, default=60, help="calls of the (slow) naive baseline"
    )
    parser.add_argument("--sample", type=int, default=3000, help="events on the worker path")
    parser.add_argument("--keep", action="store_true", help="keep the bench_stats database")
    parser.add_argument("--reuse", action="store_true", help="measure a kept bench_stats again")
    args = parser.parse_args()
    print(f"stats bench: {args.complaints:,} complaints, {args.reviews:,} reviews, "
          f"{AREAS} areas; load average {os.getloadavg()}")  # fmt: skip
    try:
        if not (args.reuse and await filled(args.complaints)):
            await create_database(args.complaints)
            await load_reviews(args.reviews, args.sample)
        else:
            print(f"  reusing {DB}")
        await measure(args.samples, args.naive_samples)
    finally:
        if not args.keep:
            admin = await asyncpg.connect(ADMIN)
            await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            await admin.close()
            print(f"\ndropped {DB}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
