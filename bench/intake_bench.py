"""POST /complaints with person matching against a log of 1M people, against a naive
single-INSERT FastAPI baseline, in the same run, at 16 concurrent clients.

    uv run python bench/intake_bench.py [--people 1000000] [--seconds 15] [--workers 1]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432]

Builds `bench_intake` on the machine's PostgreSQL (migrations, then people by
generate_series; kept between runs unless --reload), serves a JWKS so intake verifies real
RS256 tokens, starts both apps under uvicorn, and drives each with the same load: half the
complaints come from people already on the log (a certain phone match attaches), half from
new people. Prints throughput and p50/p99 for both, and the plan of the matching query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import phonenumbers
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import DateTime, String, Text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.common.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.common.devstack import free_port
from casebridge.common.testing.harness import migrate
from casebridge.common.testing.tokens import TokenFactory

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "https://bench.issuer"
CLIENTS = 16

# ---- the naive baseline: FastAPI, one ORM INSERT, commit ------------------------------------


class _Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class BaselineRow(_Base):
    __tablename__ = "baseline_complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    asb_type: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]


class BaselineIn(BaseModel):
    asb_type: str
    description: str
    name: str
    phone: str
    occurred_at: datetime


def baseline_app() -> FastAPI:
    engine = create_async_engine(os.environ["BASELINE_URL"], pool_size=10, max_overflow=10)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()

    @app.post("/complaints", status_code=201)
    async def post(data: BaselineIn) -> dict[str, int]:
        async with sessions() as session:
            row = BaselineRow(**data.model_dump())
            session.add(row)
            await session.commit()
            return {"id": row.id}

    return app


# ---- setup -------------------------------------------------------------------------------


def plain(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


async def prepare(base: str, people: int, reload: bool) -> str:
    url = f"{base}/bench_intake"
    admin = await asyncpg.connect(plain(f"{base}/postgres"))
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'bench_intake'")
    if exists and reload:
        await admin.execute("DROP DATABASE bench_intake WITH (FORCE)")
        exists = None
    if not exists:
        await admin.execute("CREATE DATABASE bench_intake")
    await admin.close()
    await migrate("intake", url)
    conn = await asyncpg.connect(plain(url))
    try:
        await conn.execute(
            "INSERT INTO area (id, code, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            DEMO_AREA_ID, DEMO_AREA_CODE, DEMO_AREA_NAME,
        )  # fmt: skip
        for kind, (agency_id, name) in DEMO_AGENCIES.items():
            await conn.execute(
                "INSERT INTO agency (id, area_id, name, kind, core_partner)"
                " VALUES ($1, $2, $3, $4, true) ON CONFLICT DO NOTHING",
                agency_id, DEMO_AREA_ID, name, kind,
            )  # fmt: skip
        have = await conn.fetchval("SELECT count(*) FROM person")
        if have < people:
            started = time.perf_counter()
            await conn.execute(
                "INSERT INTO person (id, area_id, kind, name, name_norm, phone, email, postcode,"
                " date_of_birth, created_at)"
                " SELECT gen_random_uuid(), $1, 'individual', 'Person ' || i, 'person ' || i,"
                " '+447911' || lpad(i::text, 6, '0'), 'p' || i || '@example.org',"
                " 'SW' || (1 + i % 20) || ' ' || (i % 10) || 'AB',"
                " date '1940-01-01' + (i % 25000), now()"
                " FROM generate_series($2::int, $3::int) AS i",
                DEMO_AREA_ID, have, people - 1,
            )  # fmt: skip
            await conn.execute("ANALYZE person")
            print(f"loaded {people - have:,} people in {time.perf_counter() - started:.1f}s")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS baseline_complaint (id bigserial PRIMARY KEY,"
            " asb_type varchar(60), description text, name varchar(200), phone varchar(40),"
            " occurred_at timestamptz)"
        )
        print("people on the log:", await conn.fetchval("SELECT count(*) FROM person"))
        plan = await conn.fetch(
            "EXPLAIN SELECT * FROM person WHERE area_id = $1 AND merged_into_id IS NULL"
            " AND phone = '+447911000042' UNION ALL SELECT * FROM person WHERE area_id = $1"
            " AND merged_into_id IS NULL AND name_norm = 'person 42'"
            " AND date_of_birth = '1940-02-12'",
            DEMO_AREA_ID,
        )
        print("matching plan:\n  " + "\n  ".join(r[0] for r in plan))
    finally:
        await conn.close()
    return url


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@asynccontextmanager
async def serve(name: str, target: str, env: dict[str, str], workers: int) -> AsyncIterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", target, "--factory", "--port", str(port)]
    argv += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT)  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(150):
                try:
                    await client.post(f"{url}/complaints", json={})
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.2)
            else:
                raise SystemExit(f"{name} did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---- load --------------------------------------------------------------------------------


def _valid_new_phones(count: int) -> list[str]:
    """Real (valid) UK mobile numbers outside the loaded +447911 range."""
    rng, found = random.Random(7), list[str]()
    while len(found) < count:
        number = f"+4479{rng.randrange(12, 99)}{rng.randrange(10**6):06d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            found.append(number)
    return found


NEW_PHONES = _valid_new_phones(5000)


def _valid_existing(people: int, count: int = 5000) -> list[int]:
    """People of the loaded log whose number phonenumbers accepts (some ranges it rejects)."""
    rng, found = random.Random(11), list[int]()
    while len(found) < count:
        i = rng.randrange(people)
        if phonenumbers.is_valid_number(phonenumbers.parse(f"+447911{i:06d}")):
            found.append(i)
    return found


EXISTING: list[int] = []


def intake_body(rng: random.Random, people: int) -> dict[str, Any]:
    if rng.random() < 0.5:
        i = rng.choice(EXISTING or _valid_existing(people))
        details = {"name": f"Person {i}", "phone": f"+447911{i:06d}"}
    else:
        details = {"name": f"New Person {rng.randrange(10**9)}",
                   "phone": rng.choice(NEW_PHONES)}  # fmt: skip
    return {
        "channel": "phone",
        "complainant": {"details": details, "match": "new"},
        "occurred_at": "2026-11-20T23:30:00Z",
        "location": {"postcode": "SW1A 1AA"},
        "nsir_category": "personal",
        "asb_type": "rowdy_neighbours",
        "description": "Loud music until 3am",
        "consent": {"status": "given"},
    }


def baseline_body(rng: random.Random, people: int) -> dict[str, Any]:
    i = rng.randrange(people)
    return {"asb_type": "rowdy_neighbours", "description": "Loud music until 3am",
            "name": f"Person {i}", "phone": f"+447911{i:06d}",
            "occurred_at": "2026-11-20T23:30:00Z"}  # fmt: skip


async def drive(url: str, make: Any, headers: dict[str, str], seconds: float, people: int) -> Any:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async def client_loop(seed: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            body = make(rng, people)
            started = time.perf_counter()
            response = await client.post(f"{url}/complaints", json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 201:
                errors += 1
                if errors < 3:
                    print("  unexpected:", response.status_code, response.text[:200])

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(s, client) for s in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    url = await prepare(args.url, args.people, args.reload)
    EXISTING.extend(_valid_existing(args.people))

    tokens = TokenFactory.generate(issuer=ISSUER)
    _Jwks.body = json.dumps(tokens.jwks()).encode()
    jwks_port = free_port()
    server = HTTPServer(("127.0.0.1", jwks_port), _Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    council, _ = DEMO_AGENCIES["council"]
    env = {
        "INTAKE_DATABASE_URL": url,
        "INTAKE_NATS_URL": "nats://127.0.0.1:1",  # publishing is the worker's job
        "INTAKE_ISSUERS": json.dumps(
            [{"issuer": ISSUER, "jwks_uri": f"http://127.0.0.1:{jwks_port}/jwks"}]
        ),
        "INTAKE_LOG_LEVEL": "WARNING",
        "BASELINE_URL": url,
        "PYTHONPATH": str(ROOT / "bench"),
    }
    headers = tokens.headers(
        scopes=["complaints:write"], agency_id=council, area_id=DEMO_AREA_ID,
        audience="urn:casebridge:intake", lifetime=3600,
    )  # fmt: skip
    results = {}
    async with serve("baseline", "intake_bench:baseline_app", env, args.workers) as base:
        await drive(base, baseline_body, {}, 2, args.people)  # warm up
        results["baseline (1 ORM INSERT)"] = await drive(
            base, baseline_body, {}, args.seconds, args.people
        )
    target = "casebridge.intake.main:create_app"
    async with serve("intake", target, env, args.workers) as intake:
        await drive(intake, intake_body, headers, 2, args.people)
        results["intake POST /complaints"] = await drive(
            intake, intake_body, headers, args.seconds, args.people
        )
    server.shutdown()
    print(f"\n{CLIENTS} clients, {args.seconds:.0f}s each, {args.workers} uvicorn worker(s), "
          f"{args.people:,} people on the log")  # fmt: skip
    for name, r in results.items():
        print(f"  {name:28} {r['rps']:8.0f} req/s   p50 {r['p50_ms']:6.1f} ms   "
              f"p99 {r['p99_ms']:6.1f} ms   ({r['requests']} requests, "
              f"{r['errors']} errors)")  # fmt: skip
    ratio = results["intake POST /complaints"]["rps"] / results["baseline (1 ORM INSERT)"]["rps"]
    print(f"  intake / baseline throughput: {ratio:.2f}x (target >= 1.5x, p99 <= 50 ms)")


if __name__ == "__main__":
    asyncio.run(main())
