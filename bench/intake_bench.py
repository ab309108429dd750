"""POST /complaints with person matching against a log of 1M people, against a naive
single-INSERT FastAPI baseline, in the same run, at 16 concurrent clients.

    uv run python bench/intake_bench.py [--people 1000000] [--seconds 15] [--rounds 3]
        [--workers 1] [--keep] [--reload] [--compare-src DIR]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432]

Builds `bench_intake` on the machine's PostgreSQL (never stopped: the bench only creates
and drops its own database): migrations, then people by generate_series, then ANALYZE.
`--keep` keeps the database for the next run (seeding 1M people takes a minute); without
it the database is dropped at the end. A JWKS is served so intake verifies real RS256
tokens. Both apps run under uvicorn with the same number of worker processes, as in
production; the load generator is this process (16 keep-alive connections). Each app is
warmed up, then driven in alternating rounds (baseline, intake, baseline, ...), so a burst
of noise on this shared machine hits both; the medians of the rounds are compared.

Load: half the complaints come from people already on the log (a certain phone match
attaches), half from new people. `--compare-src DIR` adds a third contestant: intake from
another source tree (e.g. a `git worktree` of an older commit), for before/after figures
from one run. Prints req/s, p50/p95/p99, app CPU per request, the load average, and
EXPLAIN (ANALYZE, BUFFERS) of the batch matching statement (which indexes it uses).

The bench draws complainants from fixed pools, so repeated runs against a `--keep`
database make the same people call again and again (more candidates per phone number,
more repeat victims); `--reload` starts from the seeded log for comparable figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import phonenumbers
from fastapi import FastAPI
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy import DateTime, String, Text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.devstack import free_port
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.intake.matching import match_statement, probe
from casebridge.intake.schemas.people import Complainant, PersonDetails
from casebridge.testing.harness import migrate
from casebridge.testing.tokens import TokenFactory

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
                "INSERT INTO partner_agency (id, area_id, name, kind, core_partner)"
                " VALUES ($1, $2, $3, $4, true) ON CONFLICT DO NOTHING",
                agency_id, DEMO_AREA_ID, name, kind,
            )  # fmt: skip
        have = await conn.fetchval("SELECT count(*) FROM person")
        if have < people:
            started = time.perf_counter()
            # The seeded names are all "Person <n>"; their surname keys are spread over
            # 20,000 values (~50 people each, as surnames spread in a real log) so the
            # planner sees realistic statistics for the name-variant arms.
            await conn.execute(
                "INSERT INTO person (id, area_id, kind, name, name_norm, surname_key, phone,"
                " email, postcode, date_of_birth, created_at)"
                " SELECT gen_random_uuid(), $1, 'individual', 'Person ' || i, 'person ' || i,"
                " 'K' || (i % 20000), '+447911' || lpad(i::text, 6, '0'),"
                " 'p' || i || '@example.org', 'SW' || (1 + i % 20) || ' ' || (i % 10) || 'AB',"
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
    finally:
        await conn.close()
    return url


async def explain(url: str) -> None:
    """The plans of the statements the hot path runs, on the loaded data."""
    details = PersonDetails(
        name="Person 42",
        phone="+447911000042",
        email="p42@example.org",
        date_of_birth=datetime(1940, 2, 12).date(),
        postcode="SW3 2AB",
    )
    newcomer = PersonDetails(name="Someone New", email="someone.new@example.org")
    since = datetime.now(UTC) - timedelta(days=91)
    probes = [
        probe(0, DEMO_AREA_ID, Complainant(details=details), since),
        probe(1, DEMO_AREA_ID, Complainant(details=newcomer), since),
    ]
    conn = await asyncpg.connect(plain(url))
    try:
        matching = match_statement()
        for title, query, args in [
            (
                "matching a batch of 2 (every identifier given; an e-mail alone) and drawing "
                "their reference numbers",
                matching,
                [to_json(probes).decode()],
            ),
        ]:
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}", *args)
            print(f"{title}:\n  " + "\n  ".join(r[0] for r in plan))
    finally:
        await conn.close()


async def drop(base: str) -> None:
    admin = await asyncpg.connect(plain(f"{base}/postgres"))
    try:
        await admin.execute("DROP DATABASE IF EXISTS bench_intake WITH (FORCE)")
    finally:
        await admin.close()


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
async def serve(
    name: str, target: str, env: dict[str, str], workers: int
) -> AsyncIterator[tuple[str, int]]:
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
        yield url, proc.pid
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a uvicorn process and its worker processes (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


class KeepAlive:
    """One HTTP/1.1 keep-alive connection, written straight to the socket. httpx's client
    spends more CPU per request than the apps under test (measured: ~4.7 ms vs ~2.7 ms per
    POST on this 2-core machine), so with it the bench measured its own load generator."""

    def __init__(self, url: str, headers: dict[str, str], path: str = "/complaints") -> None:
        host_port = url.removeprefix("http://").split("/", 1)[0]
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {host_port}\r\n"
            f"Content-Type: application/json\r\n{extra}Content-Length: "
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def drive(url: str, make: Any, headers: dict[str, str], seconds: float, people: int) -> Any:
    """CLIENTS connections, each posting as fast as it is answered until `seconds` pass."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client_loop(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        connection = KeepAlive(url, headers)
        try:
            while time.perf_counter() < deadline:
                body = json.dumps(make(rng, people)).encode()
                started = time.perf_counter()
                status, answer = await connection.post(body)
                latencies.append(time.perf_counter() - started)
                if status != 201:
                    errors += 1
                    if errors < 3:
                        print("  unexpected:", status, answer[:200].decode(errors="replace"))
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(s) for s in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": quantile(latencies, 0.50) * 1000,
        "p95_ms": quantile(latencies, 0.95) * 1000,
        "p99_ms": quantile(latencies, 0.99) * 1000,
    }


@dataclass
class Contestant:
    name: str
    target: str
    make: Any
    headers: dict[str, str]
    env: dict[str, str]
    rounds: list[dict[str, float]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(r[key] for r in self.rounds)


async def run_rounds(contestants: list[Contestant], args: argparse.Namespace) -> None:
    async with AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(serve(c.name, c.target, c.env, args.workers))
            for c in contestants
        ]
        for c, (url, _) in zip(contestants, servers, strict=True):
            await drive(url, c.make, c.headers, args.warmup, args.people)
        for n in range(args.rounds):
            for c, (url, pid) in zip(contestants, servers, strict=True):
                cpu, own = cpu_seconds(pid), sum(os.times()[:2])
                result = await drive(url, c.make, c.headers, args.seconds, args.people)
                done = max(result["requests"], 1)
                result["cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000 / done
                result["gen_ms"] = (sum(os.times()[:2]) - own) * 1000 / done
                c.rounds.append(result)
                print(f"  round {n + 1} {c.name:30} {result['rps']:7.0f} req/s  "
                      f"p50 {result['p50_ms']:6.1f}  p99 {result['p99_ms']:6.1f} ms")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reload", action="store_true", help="drop and reseed first")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--compare-src", type=Path, help="also run intake from this tree")
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    url = await prepare(args.url, args.people, args.reload)
    try:
        await explain(url)
        await measure(url, args)
    finally:
        if not args.keep:
            await drop(args.url)


async def measure(url: str, args: argparse.Namespace) -> None:
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
    app = "casebridge.intake.main:create_app"
    contestants = [
        Contestant("baseline (1 ORM INSERT)", "intake_bench:baseline_app", baseline_body, {}, env),
        Contestant("intake POST /complaints", app, intake_body, headers, env),
    ]
    if args.compare_src:
        src = str(args.compare_src.resolve() / "services" / "intake" / "src")
        other = {**env, "PYTHONPATH": f"{src}{os.pathsep}{env['PYTHONPATH']}"}
        contestants.append(
            Contestant(f"intake ({args.compare_src.name})", app, intake_body, headers, other)
        )
    load_before = os.getloadavg()
    await run_rounds(contestants, args)
    load_after = os.getloadavg()
    server.shutdown()
    report(contestants, args, load_before, load_after)


def report(
    contestants: list[Contestant],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    print(
        f"\n{CLIENTS} clients, {args.rounds} rounds of {args.seconds:.0f}s per app (medians), "
        f"{args.workers} uvicorn worker(s) per app, {args.people:,} people on the log, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    for c in contestants:
        print(
            f"  {c.name:30} {c.median('rps'):7.0f} req/s   p50 {c.median('p50_ms'):6.1f}   "
            f"p95 {c.median('p95_ms'):6.1f}   p99 {c.median('p99_ms'):6.1f} ms   "
            f"CPU/req: app {c.median('cpu_ms'):4.2f} ms, load generator "
            f"{c.median('gen_ms'):4.2f} ms   "
            f"({sum(int(r['requests']) for r in c.rounds)} requests, "
            f"{sum(int(r['errors']) for r in c.rounds)} errors)"
        )
    base = contestants[0]
    for c in contestants[1:]:
        ratios = [r["rps"] / b["rps"] for r, b in zip(c.rounds, base.rounds, strict=True)]
        print(
            f"  {c.name} / baseline throughput: {statistics.median(ratios):.2f}x "
            f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}; target >= 1.5x, p99 <= 50 ms)"
        )


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        asyncio.run(main())
    else:
        uvloop.run(main())
