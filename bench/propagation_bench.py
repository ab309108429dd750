"""Commit-to-stats propagation: how long after intake commits a complaint does stats count it?

    uv run python bench/propagation_bench.py [--complaints 2000] [--rate 200]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432]

Real processes: intake's API under uvicorn, intake's and stats' workers, a nats-server of its
own (JetStream, file store, sync_interval always), the machine's PostgreSQL with fresh
`bench_prop_*` databases. Complaints are posted at a steady rate (so queueing does not
dominate), then again as one burst. Times come from the events themselves, on one clock:
  created   = envelope `time` (set inside intake's transaction),
  published = the JetStream message timestamp (the relay's publish was stored),
  applied   = stats' inbox row `processed_at` (inside the transaction that counted it).
It prints p50/p90/p99/max of created->published, published->applied and created->applied,
against a baseline measured in the same run: a bare JetStream publish -> pull -> ack
round trip on the same server (the floor any NATS-based delivery pays).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats

from casebridge.devstack import NatsServer, free_port
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.testing.harness import migrate
from casebridge.testing.plugin import server_dir
from casebridge.testing.tokens import TokenFactory

ROOT = Path(__file__).resolve().parents[1]
COMPLAINT = {
    "channel": "phone",
    "nsir_category": "nuisance",
    "asb_type": "noise",
    "description": "Music until 3am",
    "occurred_at": "2026-11-20T23:30:00Z",
    "location": {"postcode": "SW1A 1AA"},
    "anonymous": True,
}


def plain(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


async def fresh_database(base: str, name: str, service: str) -> str:
    admin = await asyncpg.connect(plain(f"{base}/postgres"))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{base}/{name}"
    await migrate(service, url)
    return url


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return "no samples"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"p50 {q[49]:7.1f} ms   p90 {q[89]:7.1f} ms   p99 {q[98]:7.1f} ms   "
        f"max {values[-1]:7.1f} ms   (n={len(values)})"
    )


async def baseline_round_trips(nats_url: str, samples: int) -> list[float]:
    """The floor: publish to JetStream, pull it with a durable consumer, ack."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="BASELINE", subjects=["baseline.>"])
    sub = await js.pull_subscribe("baseline.x", durable="baseline")
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        await js.publish("baseline.x", b"{}")
        (msg,) = await sub.fetch(1, timeout=5)
        await msg.ack_sync()
        times.append((time.perf_counter() - started) * 1000)
    await nc.close()
    return times


def serve_jwks(tokens: TokenFactory) -> str:
    """The bench's token issuer publishes its JWKS over HTTP, as a real one would."""
    body = json.dumps(tokens.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, env={**os.environ, **env}, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


async def post_steady(client: httpx.AsyncClient, n: int, rate: float) -> None:
    """Paced posts (at most 16 in flight), so latency is measured, not a queue."""
    interval = 1.0 / rate
    started = time.perf_counter()
    in_flight = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        async with in_flight:
            response = await client.post("/complaints", json=COMPLAINT)
        assert response.status_code == 201, response.text

    await asyncio.gather(*(one(i) for i in range(n)))


async def post_burst(client: httpx.AsyncClient, n: int, concurrency: int = 16) -> None:
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            queue.pop()
            response = await client.post("/complaints", json=COMPLAINT)
            assert response.status_code == 201, response.text

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def wait_applied(stats_url: str, total: int, timeout: float = 120) -> None:
    conn = await asyncpg.connect(plain(stats_url))
    deadline = time.monotonic() + timeout
    try:
        while await conn.fetchval("SELECT count(*) FROM processed_message") < total:
            if time.monotonic() > deadline:
                raise SystemExit("stats did not apply every event in time")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def collect(
    nats_url: str, stats_url: str, since_seq: int
) -> tuple[list[float], list[float], list[float], int]:
    """Per event: created (envelope time), published (stream timestamp), applied (inbox)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    info = await js.stream_info("INTAKE")
    stamps: dict[uuid.UUID, tuple[datetime, datetime]] = {}
    for seq in range(since_seq + 1, info.state.last_seq + 1):
        raw = await js.get_msg("INTAKE", seq)
        envelope = json.loads(raw.data or b"{}")
        stamps[uuid.UUID(envelope["id"])] = (
            datetime.fromisoformat(envelope["time"]),
            stored_at(str(raw.time)),
        )
    await nc.close()
    conn = await asyncpg.connect(plain(stats_url))
    rows = await conn.fetch("SELECT message_id, processed_at FROM processed_message")
    await conn.close()
    relay, consume, total = [], [], []
    for row in rows:
        if row["message_id"] not in stamps:
            continue
        created, published = stamps[row["message_id"]]
        relay.append((published - created).total_seconds() * 1000)
        consume.append((row["processed_at"] - published).total_seconds() * 1000)
        total.append((row["processed_at"] - created).total_seconds() * 1000)
    return relay, consume, total, info.state.last_seq


def stored_at(stamp: str) -> datetime:
    """JetStream's RFC 3339 time with nanoseconds, cut to what datetime holds."""
    head, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}+00:00")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    intake_url = await fresh_database(args.url, "bench_prop_intake", "intake")
    stats_url = await fresh_database(args.url, "bench_prop_stats", "stats")
    conn = await asyncpg.connect(plain(intake_url))
    await conn.execute(
        "INSERT INTO area (id, code, name) VALUES ($1, $2, $3)",
        DEMO_AREA_ID,
        DEMO_AREA_CODE,
        DEMO_AREA_NAME,
    )
    for kind, (agency_id, name) in DEMO_AGENCIES.items():
        await conn.execute(
            "INSERT INTO partner_agency (id, area_id, name, kind, core_partner)"
            " VALUES ($1, $2, $3, $4, true)",
            agency_id,
            DEMO_AREA_ID,
            name,
            kind,
        )
    await conn.close()

    tokens = TokenFactory.generate()
    with server_dir("bench-nats") as nats_dir, server_dir("bench-logs") as logs:
        server = NatsServer(nats_dir, port=free_port(), sync_always=True)
        server.start()
        jwks = serve_jwks(tokens)
        api_port = free_port()
        env = {
            "INTAKE_DATABASE_URL": intake_url,
            "INTAKE_NATS_URL": server.url,
            "STATS_DATABASE_URL": stats_url,
            "STATS_NATS_URL": server.url,
            "INTAKE_LOG_JSON": "false",
            "STATS_LOG_JSON": "false",
            "INTAKE_LOG_LEVEL": "WARNING",
            "STATS_LOG_LEVEL": "WARNING",
            "INTAKE_ISSUERS": json.dumps([{"issuer": tokens.issuer, "jwks_uri": jwks}]),
        }
        procs = [
            start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "casebridge.intake.main:create_app",
                    "--factory",
                    "--port",
                    str(api_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                env,
                logs / "api.log",
            ),
            start([sys.executable, "-m", "casebridge.intake.worker"], env, logs / "iw.log"),
            start([sys.executable, "-m", "casebridge.stats.worker"], env, logs / "sw.log"),
        ]
        try:
            baseline = await baseline_round_trips(server.url, 500)
            headers = tokens.headers(
                scopes=["complaints:write"],
                agency_id=DEMO_AGENCIES["council"][0],
                area_id=DEMO_AREA_ID,
                audience="urn:casebridge:intake",
            )
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{api_port}", headers=headers, timeout=30
            ) as client:
                for _ in range(100):
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.2)
                await post_steady(client, 50, 50)  # warm-up
                await wait_applied(stats_url, 50)
                _, _, _, seq = await collect(server.url, stats_url, 0)
                await post_steady(client, args.complaints, args.rate)
                await wait_applied(stats_url, 50 + args.complaints)
                steady = await collect(server.url, stats_url, seq)
                burst_started = time.perf_counter()
                await post_burst(client, args.complaints)
                await wait_applied(stats_url, 50 + 2 * args.complaints)
                burst_seconds = time.perf_counter() - burst_started
                burst = await collect(server.url, stats_url, steady[3])
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=20)
            server.stop()

    print(f"\nbaseline  JetStream publish -> pull -> ack:  {percentiles(baseline)}")
    print(f"\nsteady {args.rate:.0f}/s, {args.complaints} complaints")
    print(f"  commit -> published (relay):       {percentiles(steady[0])}")
    print(f"  published -> applied (consumer):   {percentiles(steady[1])}")
    print(f"  commit -> counted by stats:        {percentiles(steady[2])}")
    print(
        f"\nburst of {args.complaints} at 16 clients "
        f"({args.complaints / burst_seconds:.0f} complaints/s end to end)"
    )
    print(f"  commit -> published (relay):       {percentiles(burst[0])}")
    print(f"  published -> applied (consumer):   {percentiles(burst[1])}")
    print(f"  commit -> counted by stats:        {percentiles(burst[2])}")


if __name__ == "__main__":
    asyncio.run(main())
