"""The whole system's cost per complaint: CPU per process, throughput, commit -> applied.

    uv run python bench/system_bench.py [--steady 1500] [--rate 150] [--burst 1500]
        [--clients 16] [--repeat-share 0.4] [--keep]

Starts the system exactly as `make run` does (deploy/run.py in a fresh temporary folder on
free ports: embedded PostgreSQL, nats-server with `sync_interval: always`, every API and
worker as its own process, the demo seed), then logs complaints through intake's API from
the three demo agencies' clients (council, police, housing provider): some from repeat
victims (the same person again, so their logs grow and review's thresholds are met), most
from new people, some anonymous. Two phases: a steady rate, then one burst from
`--clients` concurrent callers. After each phase it waits until every durable consumer on
every stream has nothing pending and every outbox is empty (stats, review and sharing have
applied everything, partner deliveries are published), then prints:

- throughput: complaints / (first post -> everything caught up);
- commit -> applied per consumer, p50/p99: created = the event envelope's `time` (set in
  intake's transaction), applied = the consumer's inbox row `processed_at` (in the
  transaction that applied it); partner deliveries: the delivery's JetStream timestamp;
- CPU ms per complaint for every process (psutil): each API and worker, nats-server,
  PostgreSQL by database (its live backends) and the rest of PostgreSQL (background
  processes, backends that ended);

beside the baseline, measured in the same run on the same events: a bare JetStream pull
consumer of intake's `complaint.logged` (decode the id, one INSERT in a transaction per
message, ack) in its own process and database, the floor of an exactly-once consumer in
Python. The load average is printed; on a shared machine compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import nats
import nats.js.errors
import psutil
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from casebridge.devstack import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "sharing", "review", "stats")
STREAMS = ("INTAKE", "REVIEW", "SHARING", "REGISTRY", "SHARE")
# consumer (durable) -> its database: whose inbox says when it applied intake's event
LATENCY_CONSUMERS = {
    "stats-intake": "stats",
    "review-intake": "review",
    "sharing-complaints": "sharing",
}
BASELINE_DB = "bench_baseline"
BASELINE_SUBJECT = "intake.*.complaint.logged.v1"
ASB_TYPES = [
    ("personal", "rowdy_neighbours"),
    ("nuisance", "noise"),
    ("environmental", "littering_drugs"),
    ("nuisance", "vehicle_nuisance"),
]


def plain(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


# ---- the bare consumer (baseline) ----------------------------------------------------------
async def baseline_consumer(nats_url: str, db_url: str) -> None:
    """Decode the event id, INSERT it in a transaction of its own, ack: one message at a
    time from batches of up to 64, until SIGTERM."""
    conn = await asyncpg.connect(db_url)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS applied (message_id uuid PRIMARY KEY, "
        "processed_at timestamptz NOT NULL DEFAULT now())"
    )
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    config = ConsumerConfig(
        durable_name="bench-baseline",
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.NEW,
        filter_subject=BASELINE_SUBJECT,
        max_ack_pending=1000,
    )
    await js.add_consumer("INTAKE", config)
    sub = await js.pull_subscribe_bind("bench-baseline", stream="INTAKE")
    print("baseline ready", flush=True)
    while True:
        try:
            messages = await sub.fetch(64, timeout=1.0)
        except (nats.errors.TimeoutError, TimeoutError):
            continue
        for message in messages:
            event_id = json.loads(message.data)["id"]
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO applied (message_id) VALUES ($1) ON CONFLICT DO NOTHING",
                    uuid.UUID(event_id),
                )
            await message.ack()


# ---- the system -----------------------------------------------------------------------------
@dataclass
class System:
    var: Path
    runner: subprocess.Popen[bytes]
    ports: dict[str, int]
    pg_port: int
    nats_port: int
    probes: dict[str, Any] = field(default_factory=dict)  # the bench's own connections
    probe_pids: set[int] = field(default_factory=set)  # their backends: not the system's

    async def connect_probes(self) -> None:
        for svc in SERVICES:
            conn = await asyncpg.connect(self.db(f"casebridge_{svc}"))
            self.probes[svc] = conn
            self.probe_pids.add(await conn.fetchval("SELECT pg_backend_pid()"))

    def api(self, svc: str) -> str:
        return f"http://127.0.0.1:{self.ports[svc]}"

    @property
    def nats_url(self) -> str:
        """As a service logs in (`make run` locks nats-server per agency): stats' login,
        which reads every stream (make run writes its password before it starts the server)."""
        passwords = json.loads((self.var / "nats" / "auth" / "service-passwords.json").read_text())
        user, password = quote("casebridge-stats", safe=""), quote(passwords["stats"], safe="")
        return f"nats://{user}:{password}@127.0.0.1:{self.nats_port}"

    def db(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{name}"


def start_system(var: Path) -> System:
    ports = {svc: free_port() for svc in SERVICES}
    pg_port, nats_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        {
            "CASEBRIDGE_VAR_DIR": str(var),
            "CASEBRIDGE_PG_PORT": str(pg_port),
            "CASEBRIDGE_NATS_PORT": str(nats_port),
            "CASEBRIDGE_LOG_FORMAT": "json",
            **{f"CASEBRIDGE_{svc.upper()}_PORT": str(port) for svc, port in ports.items()},
        }
    )
    env.pop("CASEBRIDGE_DATABASE_URL_BASE", None)
    env.pop("CASEBRIDGE_NATS_URL", None)
    log = (var / "run.log").open("ab")
    runner = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "run.py")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return System(var, runner, ports, pg_port, nats_port)


async def wait_running(system: System, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if system.runner.poll() is not None:
                raise SystemExit(f"make run's runner died: see {system.var / 'run.log'}")
            if (system.var / "run" / "children.json").exists():
                try:
                    codes = [
                        (await client.get(f"{system.api(svc)}/healthz")).status_code
                        for svc in SERVICES
                    ]
                except httpx.HTTPError:
                    codes = []
                if codes and all(code == 200 for code in codes):
                    return
            await asyncio.sleep(0.5)
    raise SystemExit("the system did not start in time")


def start_baseline(system: System) -> subprocess.Popen[bytes]:
    """The bare consumer in its own process (its CPU apart), once it is subscribed."""
    baseline = subprocess.Popen(
        [sys.executable, __file__, "--baseline-consumer", system.nats_url, system.db(BASELINE_DB)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert baseline.stdout is not None
    baseline.stdout.readline()  # "baseline ready"
    return baseline


def stop_system(system: System) -> None:
    if system.runner.poll() is None:
        system.runner.terminate()  # deploy/run.py stops its children and servers in order
        try:
            system.runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(system.runner.pid, 9)


# ---- CPU ------------------------------------------------------------------------------------
def _cpu(proc: psutil.Process, *, with_reaped: bool = False) -> float:
    times = proc.cpu_times()
    total = times.user + times.system
    if with_reaped:
        total += times.children_user + times.children_system
    return total


def processes(system: System, baseline_pid: int) -> dict[str, psutil.Process]:
    """Every process of the system by name: APIs, workers, nats-server, the postmaster."""
    found: dict[str, psutil.Process] = {}
    for entry in json.loads((system.var / "run" / "children.json").read_text()):
        found[entry["name"]] = psutil.Process(entry["pid"])
    found["nats-server"] = psutil.Process(int((system.var / "nats" / "nats.pid").read_text()))
    pid_file = system.var / "pg" / "pgdata" / "postmaster.pid"
    found["postgres"] = psutil.Process(int(pid_file.read_text().splitlines()[0]))
    found["baseline consumer"] = psutil.Process(baseline_pid)
    found["make run's runner (log pump)"] = psutil.Process(system.runner.pid)
    return found


def cpu_snapshot(procs: dict[str, psutil.Process], skip: set[int]) -> dict[str, float]:
    """CPU seconds so far per row; PostgreSQL split by the database of each live backend,
    the rest (background processes and reaped backends) as `postgres: other`."""
    snap: dict[str, float] = defaultdict(float)
    for name, proc in procs.items():
        if name == "postgres":
            continue
        snap[name] = _cpu(proc)
    postmaster = procs["postgres"]
    snap["postgres: other"] = _cpu(postmaster, with_reaped=True)
    for child in postmaster.children():
        try:
            cmdline = " ".join(child.cmdline())
            seconds = _cpu(child)
        except psutil.NoSuchProcess:
            continue
        words = cmdline.split()
        db = words[2] if cmdline.startswith("postgres: ") and len(words) > 3 else None
        if child.pid in skip:
            snap[f"bench probes ({child.pid})"] = seconds
        elif db and (db.startswith("casebridge_") or db == BASELINE_DB):
            snap[f"postgres: {db} ({child.pid})"] = seconds
        else:
            snap["postgres: other"] += seconds
    return snap


def cpu_rows(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds in between, per row; backends are summed per database."""
    rows: dict[str, float] = defaultdict(float)
    for key, value in after.items():
        delta = value - before.get(key, 0.0)
        rows[key.split(" (", 1)[0] if key.startswith(("postgres: ", "bench ")) else key] += delta
    # a backend that ended moved into the postmaster's reaped time: count it once
    for key, value in before.items():
        if key not in after and key.startswith("postgres: casebridge"):
            rows["postgres: other"] -= value
    return rows


# ---- the callers ----------------------------------------------------------------------------
@dataclass
class Caller:
    kind: str
    client: httpx.AsyncClient


async def token(sharing: str, client_id: str, secret: str) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{sharing}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


async def callers(system: System) -> list[Caller]:
    """The council's, the police's and the housing provider's demo call handlers."""
    entries = json.loads((system.var / "demo-clients.json").read_text())
    found = []
    for entry in entries:
        if "complaints:write" not in entry.get("scopes", []):
            continue
        bearer = await token(system.api("sharing"), entry["client_id"], entry["client_secret"])
        client = httpx.AsyncClient(
            base_url=system.api("intake"),
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=60,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        found.append(Caller(entry["client_id"], client))
    if not found:
        raise SystemExit("no demo client may log complaints")
    return found


class Population:
    """Who calls: a fixed set of repeat victims (their logs grow), new people, anonymous
    reports about a few busy public places; each person at home, in a town of postcodes."""

    def __init__(self, run: str, repeat_share: float, victims: int = 60) -> None:
        self.run = run
        self.repeat_share = repeat_share
        self.victims = victims
        self.count = 0
        self.rng = random.Random(16)

    @staticmethod
    def postcode(place: int) -> str:
        """A place of its own per number: SW1A 1AA, SW1A 1AB, ... (postcodes of a town)."""
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        unit = f"{letters[place // 20 % 20]}{letters[place % 20]}"
        return f"SW{place % 9 + 1}A {place // 400 % 9 + 1}{unit}"

    def body(self) -> dict[str, Any]:
        self.count += 1
        i = self.count
        category, asb_type = self.rng.choice(ASB_TYPES)
        occurred = datetime.now(UTC) - timedelta(hours=self.rng.randint(1, 72))
        body: dict[str, Any] = {
            "channel": self.rng.choice(["phone", "online", "in_person"]),
            "nsir_category": category,
            "asb_type": asb_type,
            "occurred_at": occurred.isoformat(),
            "description": f"Complaint {i}: music and shouting late at night.",
        }
        roll = self.rng.random()
        if roll < 0.1:
            body["anonymous"] = True
            park = self.postcode(self.rng.randrange(50))  # a few busy public places
            body["location"] = {"address": "Example Park", "postcode": park}
            return body
        if roll < 0.1 + self.repeat_share:
            who = self.rng.randrange(self.victims)
            name, email = f"Victim {self.run} {who}", f"victim{who}.{self.run}@example.org"
            match = "ask"
        else:
            name, email = f"Caller {self.run} {i}", f"caller{i}.{self.run}@example.org"
            match = "new"
        home = self.postcode(who if match == "ask" else self.rng.randrange(5000))
        body["location"] = {
            "address": f"{i % 200 + 1} Example Street",
            "postcode": home,
            "at_complainants_home": True,
        }
        body["complainant"] = {"details": {"name": name, "email": email}, "match": match}
        body["consent"] = {"status": self.rng.choice(["given", "given", "refused"])}
        body["perpetrators"] = [
            {"kind": "household", "address": f"{i % 97 + 3} Example Street", "postcode": home}
        ]
        return body


async def post(caller: Caller, body: dict[str, Any], latencies: list[float]) -> None:
    started = time.perf_counter()
    response = await caller.client.post("/complaints", json=body)
    if response.status_code == 409 and "person_match_uncertain" in response.text:
        body["complainant"]["match"] = "new"  # the handler decides: a new log
        response = await caller.client.post("/complaints", json=body)
    if response.status_code != 201:
        raise SystemExit(f"POST /complaints answered {response.status_code}: {response.text}")
    latencies.append((time.perf_counter() - started) * 1000)


async def post_steady(
    pool: list[Caller], people: Population, n: int, rate: float, latencies: list[float]
) -> None:
    """Paced posts (at most 32 in flight), so latency is measured, not a queue."""
    started = time.perf_counter()
    in_flight = asyncio.Semaphore(32)

    async def one(i: int) -> None:
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        async with in_flight:
            await post(pool[i % len(pool)], people.body(), latencies)

    await asyncio.gather(*(one(i) for i in range(n)))


async def post_burst(
    pool: list[Caller], people: Population, n: int, clients: int, latencies: list[float]
) -> None:
    left = iter(range(n))

    async def worker(k: int) -> None:
        for _ in left:
            await post(pool[k % len(pool)], people.body(), latencies)

    await asyncio.gather(*(worker(k) for k in range(clients)))


# ---- caught up ------------------------------------------------------------------------------
async def pending(system: System, js: Any) -> int:
    """Messages not yet applied by some durable consumer, plus rows in any outbox."""
    total = 0
    for stream in STREAMS:
        try:
            names = [c.name for c in await js.consumers_info(stream)]
        except nats.js.errors.NotFoundError:  # a stream nothing has published on yet
            continue
        for name in names:
            info = await js.consumer_info(stream, name)
            total += info.num_pending + info.num_ack_pending
    for conn in system.probes.values():
        total += await conn.fetchval("SELECT count(*) FROM outbox_message")
    return total


async def wait_caught_up(system: System, js: Any, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await pending(system, js) == 0:
            await asyncio.sleep(0.3)  # nothing in flight between an outbox and a stream
            if await pending(system, js) == 0:
                return time.perf_counter()
        await asyncio.sleep(0.2)
    raise SystemExit("the consumers did not catch up in time")


# ---- latencies ------------------------------------------------------------------------------
def stored_at(stamp: str) -> datetime:
    head, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}+00:00")


async def stream_messages(js: Any, stream: str, first: int) -> list[Any]:
    last = (await js.stream_info(stream)).state.last_seq
    return [await js.get_msg(stream, seq) for seq in range(first, last + 1)]


async def latencies(system: System, js: Any, intake_from: int, share_from: int) -> dict[str, Any]:
    """commit -> applied (ms) per consumer for the complaint.logged events from intake_from,
    and commit -> published for the partner deliveries made for them."""
    created: dict[uuid.UUID, datetime] = {}
    for raw in await stream_messages(js, "INTAKE", intake_from):
        envelope = json.loads(raw.data or b"{}")
        if envelope.get("type") == "intake.complaint.logged.v1":
            created[uuid.UUID(envelope["id"])] = datetime.fromisoformat(envelope["time"])
    found: dict[str, list[float]] = {}
    for consumer, svc in [*LATENCY_CONSUMERS.items(), ("bench-baseline", None)]:
        db = system.db(BASELINE_DB if svc is None else f"casebridge_{svc}")
        conn = await asyncpg.connect(db)
        try:
            if svc is None:
                rows = await conn.fetch("SELECT message_id, processed_at FROM applied")
            else:
                rows = await conn.fetch(
                    "SELECT message_id, processed_at FROM processed_message "
                    "WHERE consumer_name = $1",
                    consumer,
                )
        finally:
            await conn.close()
        found[consumer] = [
            (row["processed_at"] - created[row["message_id"]]).total_seconds() * 1000
            for row in rows
            if row["message_id"] in created
        ]
    conn = await asyncpg.connect(system.db("casebridge_sharing"))
    try:
        sources = {
            row["id"]: row["source_event_id"]
            for row in await conn.fetch(
                "SELECT d.id, s.source_event_id FROM delivery d "
                "JOIN disclosure s ON s.id = d.disclosure_id"
            )
        }
    finally:
        await conn.close()
    deliveries = []
    for raw in await stream_messages(js, "SHARE", share_from):
        msg_id = uuid.UUID((raw.headers or {}).get("Nats-Msg-Id"))
        source = sources.get(msg_id)
        if source in created:
            deliveries.append((stored_at(str(raw.time)) - created[source]).total_seconds() * 1000)
    found["partner delivery published"] = deliveries
    return {"latencies": found, "complaints": len(created)}


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0], values[0], values[0]) if values else (0.0, 0.0, 0.0)
    q = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return q[49], q[98], max(values)


# ---- a phase ----------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    complaints: int
    seconds: float
    cpu: dict[str, float]
    latencies: dict[str, list[float]]
    api_ms: list[float]
    stats_events: int  # messages stats' consumers applied (intake, review, sharing events)


async def run_phase(
    name: str,
    system: System,
    js: Any,
    procs: dict[str, psutil.Process],
    drive: Any,
    n: int,
) -> Phase:
    intake_from = (await js.stream_info("INTAKE")).state.last_seq + 1
    share_from = (await js.stream_info("SHARE")).state.last_seq + 1
    api_ms: list[float] = []
    count = "SELECT count(*) FROM processed_message"
    stats_before = await system.probes["stats"].fetchval(count)
    before = cpu_snapshot(procs, system.probe_pids)
    started = time.perf_counter()
    await drive(api_ms)
    finished = await wait_caught_up(system, js)
    after = cpu_snapshot(procs, system.probe_pids)
    stats_events = await system.probes["stats"].fetchval(count) - stats_before
    measured = await latencies(system, js, intake_from, share_from)
    if measured["complaints"] != n:
        print(f"warning: {measured['complaints']} complaint.logged events for {n} posts")
    return Phase(
        name,
        n,
        finished - started,
        cpu_rows(before, after),
        measured["latencies"],
        api_ms,
        stats_events,
    )


def report(phase: Phase) -> None:
    n = phase.complaints
    print(
        f"\n== {phase.name}: {n} complaints, {n / phase.seconds:.0f} complaints/s end to end "
        f"(first post -> every consumer caught up, {phase.seconds:.1f} s)"
    )
    p50, p99, top = quantiles(phase.api_ms)
    print(f"  POST /complaints as the caller sees it: p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    print("  commit -> applied            p50 ms    p99 ms    max ms      n")
    for consumer, values in phase.latencies.items():
        p50, p99, top = quantiles(values)
        print(f"  {consumer:<27} {p50:7.1f}  {p99:8.1f}  {top:8.1f}  {len(values):5d}")
    print("  CPU per complaint (ms)")
    system_total = 0.0
    rows = sorted(phase.cpu.items(), key=lambda kv: -kv[1])
    for name, seconds in rows:
        if name in ("baseline consumer", "make run's runner (log pump)", "bench probes") or (
            name.endswith(BASELINE_DB)
        ):
            continue
        system_total += seconds
        print(f"    {name:<34} {seconds * 1000 / n:6.2f}")
    print(f"    {'TOTAL (the system)':<34} {system_total * 1000 / n:6.2f}")
    base = phase.cpu.get("baseline consumer", 0.0)
    base_pg = phase.cpu.get(f"postgres: {BASELINE_DB}", 0.0)
    print(f"    {'baseline consumer (python)':<34} {base * 1000 / n:6.2f}")
    print(f"    {'baseline consumer (its backend)':<34} {base_pg * 1000 / n:6.2f}")
    runner = phase.cpu.get("make run's runner (log pump)", 0.0)
    print(f"    {'(make run runner, log pump)':<34} {runner * 1000 / n:6.2f}")
    stats = phase.cpu.get("stats-worker", 0.0) + phase.cpu.get("postgres: casebridge_stats", 0.0)
    if base + base_pg and phase.stats_events:
        per_event, base_per_event = stats / phase.stats_events, (base + base_pg) / n
        print(
            f"  per event: stats (worker + its backends) {per_event * 1000:.2f} ms over "
            f"{phase.stats_events} events; baseline (consumer + its backend) "
            f"{base_per_event * 1000:.2f} ms over {n}: {per_event / base_per_event:.2f}x"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steady", type=int, default=1500, help="complaints at a steady rate")
    parser.add_argument("--rate", type=float, default=150.0, help="complaints/s when steady")
    parser.add_argument("--burst", type=int, default=1500, help="complaints in the burst")
    parser.add_argument("--clients", type=int, default=16, help="concurrent callers in the burst")
    parser.add_argument("--repeat-share", type=float, default=0.4, help="calls from repeat victims")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--baseline-consumer", nargs=2, metavar=("NATS", "DB"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.baseline_consumer:
        await baseline_consumer(*args.baseline_consumer)
        return
    var = Path(tempfile.mkdtemp(prefix="casebridge-system-bench-"))
    print(f"system in {var} (make run's log: {var / 'run.log'})")
    system = start_system(var)
    baseline: subprocess.Popen[bytes] | None = None
    pool: list[Caller] = []
    try:
        await wait_running(system)
        admin = await asyncpg.connect(system.db("postgres"))
        await admin.execute(f'CREATE DATABASE "{BASELINE_DB}"')
        await admin.close()
        baseline = start_baseline(system)
        nc = await nats.connect(system.nats_url)
        js = nc.jetstream()
        await system.connect_probes()
        pool = await callers(system)
        people = Population(uuid.uuid4().hex[:6], args.repeat_share)
        procs = processes(system, baseline.pid)
        warm: list[float] = []
        await post_steady(pool, people, 100, 50, warm)  # warm-up: connections, caches
        await wait_caught_up(system, js)
        print(f"load average before: {os.getloadavg()}")

        async def steady(api_ms: list[float]) -> None:
            await post_steady(pool, people, args.steady, args.rate, api_ms)

        async def burst(api_ms: list[float]) -> None:
            await post_burst(pool, people, args.burst, args.clients, api_ms)

        phases = [
            await run_phase(f"steady {args.rate:.0f}/s", system, js, procs, steady, args.steady),
            await run_phase(
                f"burst from {args.clients} callers", system, js, procs, burst, args.burst
            ),
        ]
        print(f"load average after: {os.getloadavg()}")
        for phase in phases:
            report(phase)
        await nc.close()
    finally:
        for caller in pool:
            await caller.client.aclose()
        if baseline is not None:
            baseline.terminate()
            baseline.wait(timeout=10)
        stop_system(system)
        if not args.keep:
            shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
