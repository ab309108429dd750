"""GET /complaints/{id} with and without access records (issue 15 item 4), in one run.

    uv run python bench/access_bench.py [--seconds 10] [--rounds 3] [--clients 8]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432] [--mechanism-only]

Builds `bench_access` on the machine's PostgreSQL (the bench creates and drops only its own
database): intake's migrations, the demo area, its partners and the default protocol; then
one complaint logged by the council through the API. Three intake servers run under uvicorn
(one worker each, real RS256 tokens against a served JWKS):

- traced: intake as shipped; every read appends an access record to the buffer, flushed
  with one multi-row INSERT every 0.5 s;
- untraced: the same code with the tracing taken out (no middleware, `shown` and `bind` do
  nothing): the baseline;
- synchronous: each read's records written (one INSERT and commit) before its response
  starts: the row-by-row way the buffer avoids.

The police reads the complaint (the protocol decides what it sees) from `--clients` keep-
alive connections, in rounds taking the three in turn, each round starting with the next one
(untraced, traced, synchronous; traced, synchronous, untraced; ...), so noise and load trends
on this shared machine hit all three alike. Prints req/s, p50/p99 and server CPU per
request, medians of the rounds, the traced/untraced ratios, the access records written, and
the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import threading
import time
from http.server import HTTPServer
from importlib.resources import files
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI
from intake_bench import _Jwks, cpu_seconds, plain, quantile, serve
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from starlette.middleware import Middleware
from starlette.types import Message, Receive, Scope, Send

from casebridge.common import access
from casebridge.common.isp import parse
from casebridge.devstack import free_port
from casebridge.devstack.demo import (
    DEMO_AGENCIES,
    DEMO_AREA_CODE,
    DEMO_AREA_ID,
    DEMO_AREA_NAME,
)
from casebridge.testing.harness import migrate
from casebridge.testing.tokens import TokenFactory

ISSUER = "https://bench.issuer"
BENCH = Path(__file__).resolve().parent
DB = "bench_access"


def traced_app() -> FastAPI:
    from casebridge.intake.main import create_app

    return create_app()


def untraced_app() -> FastAPI:
    """Intake with the access records taken out: the baseline."""
    from casebridge.intake.main import create_app

    access.shown = lambda *args, **kwargs: None  # type: ignore[assignment]
    access.bind = lambda principal: None  # type: ignore[assignment]
    app = create_app()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not access.TraceReads]
    return app


class FlushEachRead(access.TraceReads):
    """Each read's records written (one INSERT and commit) before its response starts."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_after_writing(message: Message) -> None:
            if message["type"] == "http.response.start":
                await scope["app"].state.access_log.flush()
            await send(message)

        await super().__call__(scope, receive, send_after_writing)


def synchronous_app() -> FastAPI:
    """Intake writing each read's access records before answering: the row-by-row way."""
    from casebridge.intake.main import create_app

    app = create_app()
    app.user_middleware = [
        Middleware(FlushEachRead) if m.cls is access.TraceReads else m for m in app.user_middleware
    ]
    return app


async def prepare(base: str) -> str:
    url = f"{base}/{DB}"
    admin = await asyncpg.connect(plain(f"{base}/postgres"))
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()
    await migrate("intake", url)
    document = parse(files("casebridge.common.isp").joinpath("default.yaml").read_text())
    conn = await asyncpg.connect(plain(url))
    try:
        await conn.execute(
            "INSERT INTO area (id, code, name) VALUES ($1, $2, $3)",
            DEMO_AREA_ID, DEMO_AREA_CODE, DEMO_AREA_NAME,
        )  # fmt: skip
        for kind, (agency_id, name) in DEMO_AGENCIES.items():
            await conn.execute(
                "INSERT INTO partner_agency (id, area_id, name, kind, core_partner)"
                " VALUES ($1, $2, $3, $4, true)",
                agency_id, DEMO_AREA_ID, name, kind,
            )  # fmt: skip
        await conn.execute(
            "INSERT INTO protocol_version (area_id, version, document, published_at)"
            " VALUES ($1, 1, $2::jsonb, now())",
            DEMO_AREA_ID, json.dumps(document.model_dump(mode="json")),
        )  # fmt: skip
    finally:
        await conn.close()
    return url


async def drop(base: str) -> None:
    admin = await asyncpg.connect(plain(f"{base}/postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    finally:
        await admin.close()


async def access_records(url: str) -> int:
    conn = await asyncpg.connect(plain(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM access_record"))
    finally:
        await conn.close()


class KeepAliveGet:
    """One HTTP/1.1 keep-alive connection, written straight to the socket (httpx costs
    more CPU per request than the app under test)."""

    def __init__(self, url: str, path: str, headers: dict[str, str]) -> None:
        host_port = url.removeprefix("http://")
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.request = f"GET {path} HTTP/1.1\r\nHost: {host_port}\r\n{extra}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self) -> int:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def drive(
    url: str, path: str, headers: dict[str, str], seconds: float, clients: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client_loop() -> None:
        nonlocal errors
        connection = KeepAliveGet(url, path, headers)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await connection.get()
                latencies.append(time.perf_counter() - started)
                errors += status != 200
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": quantile(latencies, 0.50) * 1000,
        "p99_ms": quantile(latencies, 0.99) * 1000,
    }


async def log_one(url: str, headers: dict[str, str]) -> str:
    body = {
        "channel": "phone",
        "complainant": {"details": {"name": "Ann Example", "phone": "020 7946 0018"}},
        "occurred_at": "2026-11-28T22:30:00Z",
        "location": {"address": "1 Example Street", "postcode": "SW1A 1AA"},
        "nsir_category": "personal",
        "asb_type": "rowdy_neighbours",
        "description": "Loud music until 3am",
        "consent": {"status": "given"},
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/complaints", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


async def measure(url: str, args: argparse.Namespace) -> None:
    tokens = TokenFactory.generate(issuer=ISSUER)
    _Jwks.body = json.dumps(tokens.jwks()).encode()
    jwks = HTTPServer(("127.0.0.1", free_port()), _Jwks)
    threading.Thread(target=jwks.serve_forever, daemon=True).start()
    env = {
        "INTAKE_DATABASE_URL": url,
        "INTAKE_NATS_URL": "nats://127.0.0.1:1",  # publishing is the worker's job
        "INTAKE_ISSUERS": json.dumps(
            [{"issuer": ISSUER, "jwks_uri": f"http://127.0.0.1:{jwks.server_port}/jwks"}]
        ),
        "INTAKE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(BENCH),
    }

    def auth(agency: str, scopes: list[str]) -> dict[str, str]:
        agency_id, _ = DEMO_AGENCIES[agency]
        return tokens.headers(
            scopes=scopes, agency_id=agency_id, area_id=DEMO_AREA_ID,
            audience="urn:casebridge:intake", lifetime=3600, sub=f"officer-of-{agency}",
        )  # fmt: skip

    reader = auth("police", ["complaints:read"]) | {"Casebridge-Purpose": "case_review"}
    rounds: dict[str, list[dict[str, float]]] = {"untraced": [], "traced": [], "synchronous": []}
    load_before = os.getloadavg()
    synchronous_env = {**env, "INTAKE_ACCESS_FLUSH_SECONDS": "0"}
    async with (
        serve("untraced", "access_bench:untraced_app", env, 1) as (base_url, base_pid),
        serve("traced", "access_bench:traced_app", env, 1) as (traced_url, traced_pid),
        serve("synchronous", "access_bench:synchronous_app", synchronous_env, 1) as sync,
    ):
        path = f"/complaints/{await log_one(traced_url, auth('council', ['complaints:write']))}"
        servers = {
            "untraced": (base_url, base_pid),
            "traced": (traced_url, traced_pid),
            "synchronous": sync,
        }
        for server_url, _ in servers.values():  # warm up
            await drive(server_url, path, reader, args.warmup, args.clients)
        await asyncio.sleep(1.0)  # the warm-up's records flushed before counting
        recorded_before = await access_records(url)
        names = list(servers)
        for n in range(args.rounds):
            # Each round starts with the next contestant: a trend in the machine's load
            # (other work starting or ending) favours none of them.
            for name in names[n % len(names) :] + names[: n % len(names)]:
                server_url, pid = servers[name]
                cpu = cpu_seconds(pid)
                result = await drive(server_url, path, reader, args.seconds, args.clients)
                result["cpu_ms"] = (cpu_seconds(pid) - cpu) * 1000 / max(result["requests"], 1)
                rounds[name].append(result)
                print(
                    f"  round {n + 1} {name:9} {result['rps']:7.0f} req/s  p50 "
                    f"{result['p50_ms']:6.2f}  p99 {result['p99_ms']:6.2f} ms  CPU/req "
                    f"{result['cpu_ms']:.2f} ms  errors {result['errors']:.0f}"
                )
        await asyncio.sleep(1.0)  # the last flush interval
        recorded = await access_records(url) - recorded_before
    jwks.shutdown()
    report(rounds, recorded, args, load_before, os.getloadavg())


def report(
    rounds: dict[str, list[dict[str, float]]],
    recorded: int,
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rounds[name])

    print(
        f"\nGET /complaints/{{id}} as the police, {args.clients} clients, {args.rounds} rounds "
        f"of {args.seconds:.0f}s per server (medians), 1 uvicorn worker each, "
        f"{os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, "
        f"after {load_after[0]:.2f} (1 min)"
    )
    for name in rounds:
        print(
            f"  {name:9} {median(name, 'rps'):7.0f} req/s   p50 {median(name, 'p50_ms'):6.2f}"
            f"   p99 {median(name, 'p99_ms'):6.2f} ms   CPU/req {median(name, 'cpu_ms'):.3f} ms"
        )
    for name in ("traced", "synchronous"):
        ratios = [
            t["rps"] / u["rps"] for t, u in zip(rounds[name], rounds["untraced"], strict=True)
        ]
        p50 = median(name, "p50_ms") / median("untraced", "p50_ms")
        p99 = median(name, "p99_ms") / median("untraced", "p99_ms")
        cpu = median(name, "cpu_ms") / median("untraced", "cpu_ms")
        print(
            f"  {name} / untraced: throughput {statistics.median(ratios):.3f}x "
            f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)}), p50 {p50:.3f}x, "
            f"p99 {p99:.3f}x, CPU/req {cpu:.3f}x"
        )
    reads = sum(int(r["requests"]) for name in ("traced", "synchronous") for r in rounds[name])
    print(f"  target: traced under 10% slower; access records written: {recorded} for {reads} "
          "traced and synchronous reads (one each)")  # fmt: skip


async def mechanism(url: str, records: int = 20_000) -> None:
    """The mechanism alone, in this process: a presenter's `shown` (buffer append) and a
    flush's INSERT (wall time, the database's work included), per record."""
    from casebridge.common.auth import Principal
    from casebridge.common.db import new_id
    from casebridge.common.isp import Decision
    from casebridge.intake.models import access_record

    engine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    log = access.AccessLog(access_record, lambda: sessions, max_rows=records + 1)
    agency_id, _ = DEMO_AGENCIES["police"]
    principal = Principal("pc-1", "bench", agency_id, DEMO_AREA_ID, frozenset())
    token = access._trail.set(access.Trail(log, "GET /complaints/x", "case_review", principal))
    decision = Decision("complaint", fields=frozenset({"id", "reference", "status", "asb_type"}))
    try:
        started = time.process_time()
        for _ in range(records):
            access.shown("complaint", new_id(), decision, controllers=[agency_id])
        append_us = (time.process_time() - started) / records * 1e6
        started, cpu = time.perf_counter(), time.process_time()
        while log.pending:  # flushes of 500, as the timer would under load
            rows, log._rows = log._rows[500:], log._rows[:500]
            await log.flush()
            log._rows = rows
        flush_us = (time.perf_counter() - started) / records * 1e6
        flush_cpu_us = (time.process_time() - cpu) / records * 1e6
    finally:
        access._trail.reset(token)
        await engine.dispose()
    print(
        f"  mechanism: shown() {append_us:.1f} us CPU per record; flush (500-row INSERTs) "
        f"{flush_cpu_us:.1f} us CPU here, {flush_us:.1f} us wall (the database's work "
        "included) per record"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--mechanism-only", action="store_true", help="skip the HTTP rounds")
    args = parser.parse_args()
    url = await prepare(args.url)
    try:
        if not args.mechanism_only:
            await measure(url, args)
        await mechanism(url)
    finally:
        await drop(args.url)


if __name__ == "__main__":
    asyncio.run(main())
