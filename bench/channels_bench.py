"""Partner channels: how long after intake commits a complaint does a partner receive it on
its NATS subject, from its long-polled feed, and at its webhook receiver?

    uv run python bench/channels_bench.py [--rate 200] [--seconds 60] [--no-webhook]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432]

Real processes: intake's API (uvicorn) and worker, sharing's worker and API, a nats-server
of its own (JetStream, file store, sync_interval always) locked per agency as `make run`
runs it, the machine's PostgreSQL with fresh `bench_chan_*` databases. Complaints are posted
at a steady rate for the given time. The police (a core partner) receives each complaint:
  NATS: a subscription on `share.<area>.<police>.>` with the police's own NATS login;
  feed: one client looping on `GET /feed?after=<cursor>&wait=30` with a police token;
  webhook: the police's endpoint, a loopback HTTP receiver in this process (the sharing
  worker's dispatcher signs and posts each delivery; loopback allowed as in the tests).
Latency = the partner's receive time - the complaint's envelope `time` (set inside intake's
transaction, read back from the INTAKE stream), on one machine's clock. The baseline, in the
same run on the same server: a bare JetStream publish -> pull -> ack round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sized
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import bcrypt
import httpx
import nats
import yaml
from propagation_bench import (
    baseline_round_trips,
    fresh_database,
    percentiles,
    plain,
    post_steady,
    serve_jwks,
    start,
    stored_at,
)

from casebridge.devstack import NatsServer, free_port
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.devstack.nats_logins import prepare_nats_logins
from casebridge.sharing import nats_auth
from casebridge.testing.plugin import server_dir
from casebridge.testing.tokens import TokenFactory
from casebridge.testing.webhooks import Receiver, webhook_receiver

ROOT = Path(__file__).resolve().parents[1]
POLICE = DEMO_AGENCIES["police"][0]
POLICE_USER = "bench-police"


async def seed(intake_url: str, sharing_url: str, webhook_url: str | None) -> None:
    """The demo area in intake and in sharing's registry, with the default protocol
    (published as version 1 through sharing's own function) and the police's webhook."""
    from casebridge.common.db import make_engine, make_sessionmaker
    from casebridge.common.isp.document import validate
    from casebridge.sharing import protocol
    from casebridge.sharing.endpoints import new_signing_secret
    from casebridge.sharing.models import Agency, Area, WebhookEndpoint
    from casebridge.sharing.settings import Settings

    conn = await asyncpg.connect(plain(intake_url))
    await conn.execute(
        "INSERT INTO area (id, code, name) VALUES ($1, $2, $3)",
        DEMO_AREA_ID,
        DEMO_AREA_CODE,
        DEMO_AREA_NAME,
    )
    await conn.close()
    engine = make_engine(Settings(database_url=sharing_url))
    async with make_sessionmaker(engine)() as session:
        area = Area(id=DEMO_AREA_ID, code=DEMO_AREA_CODE, name=DEMO_AREA_NAME)
        session.add(area)
        await session.flush()
        for kind, (agency_id, name) in DEMO_AGENCIES.items():
            session.add(
                Agency(id=agency_id, area_id=DEMO_AREA_ID, name=name, kind=kind, core_partner=True)
            )
        await session.flush()
        if webhook_url is not None:
            secret = new_signing_secret()
            session.add(WebhookEndpoint(agency_id=POLICE, url=webhook_url, signing_secret=secret))
        text = (ROOT / "libs/common/src/casebridge/common/isp/default.yaml").read_text()
        document = yaml.safe_load(text)
        document["review_date"] = datetime.now().date().replace(year=datetime.now().year + 1)
        await protocol.publish_document(
            session,
            area=area,
            protocol=validate(document),
            by=protocol.Publisher("bench", "bench", None),
        )
        await session.commit()
    await engine.dispose()


def lock_nats(directory: Path, password: str) -> tuple[Path, dict[str, str], tuple[str, str]]:
    """The services' logins and the police's own NATS user, as the registry would have it."""
    logins = prepare_nats_logins(directory)
    services = nats_auth.service_logins(logins.services_file)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(11, prefix=b"2a")).decode()
    police = nats_auth.agency_login(POLICE_USER, hashed, DEMO_AREA_ID, POLICE)
    logins.authorization_file.write_text(nats_auth.render([*services, police]))
    return logins.authorization_file, logins.passwords, logins.login("sharing")


async def receive_nats(url: str, password: str, seen: dict[str, float], ready: asyncio.Event,
                       stop: asyncio.Event) -> None:  # fmt: skip
    nc = await nats.connect(
        url,
        user=POLICE_USER,
        password=password,
        inbox_prefix=nats_auth.inbox_prefix(POLICE_USER),
    )

    async def got(message: nats.aio.msg.Msg) -> None:
        seen.setdefault(json.loads(message.data)["data"]["id"], time.time())

    await nc.subscribe(nats_auth.agency_subjects(DEMO_AREA_ID, POLICE), cb=got)
    await nc.flush()
    ready.set()
    await stop.wait()
    await nc.close()


async def receive_feed(base: str, headers: dict[str, str], seen: dict[str, float],
                       stop: asyncio.Event) -> None:  # fmt: skip
    after = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        while not stop.is_set():
            response = await client.get("/feed", params={"after": after, "wait": 30})
            response.raise_for_status()
            page = response.json()
            now = time.time()
            for item in page["items"]:
                seen.setdefault(item["data"]["id"], now)
            after = page["cursor"]


async def stream_times(
    url: str, stream: str, key_of: Callable[[Any, dict[str, Any]], str | None]
) -> tuple[dict[str, float], dict[str, float]]:
    """For each message `key_of` names (by complaint id): its envelope's `time` (set in the
    transaction that wrote it) and the time JetStream stored it (its relay published it)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    written: dict[str, float] = {}
    stored: dict[str, float] = {}
    for seq in range(1, info.state.last_seq + 1):
        raw = await js.get_msg(stream, seq)
        envelope = json.loads(raw.data or b"{}")
        key = key_of(raw, envelope)
        if key is not None:
            written[key] = datetime.fromisoformat(envelope["time"]).timestamp()
            stored[key] = stored_at(str(raw.time)).timestamp()
    await nc.close()
    return written, stored


def logged_complaint(raw: Any, envelope: dict[str, Any]) -> str | None:
    """On INTAKE: a complaint.logged, by its complaint id."""
    if envelope.get("type") == "intake.complaint.logged.v1":
        return str(envelope["data"]["complaint_id"])
    return None


def police_delivery(raw: Any, envelope: dict[str, Any]) -> str | None:
    """On SHARE: a delivery to the police, by the complaint id it carries."""
    key = envelope.get("data", {}).get("id")
    return str(key) if key and str(POLICE) in (raw.subject or "") else None


class HookSeen:
    """The webhook receiver's arrivals by complaint id (first arrival of each), read as they
    come: its length is what `wait_for` watches."""

    def __init__(self, hook: Receiver) -> None:
        self.hook = hook

    def __len__(self) -> int:
        return len(self.times())

    def times(self) -> dict[str, float]:
        seen: dict[str, float] = {}
        for request in self.hook.requests:
            seen.setdefault(json.loads(request.body)["data"]["id"], request.at)
        return seen


def between(start: dict[str, float], end: dict[str, float], keys: Iterable[str]) -> list[float]:
    return [(end[k] - start[k]) * 1000 for k in keys if k in start and k in end]


def latencies(committed: dict[str, float], seen: dict[str, float]) -> list[float]:
    return [(seen[k] - committed[k]) * 1000 for k in committed if k in seen]


async def wait_for(
    check: Sized, expected: int, receiver: asyncio.Task[None], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while len(check) < expected:
        if receiver.done():
            receiver.result()  # its error, if it stopped
        if time.monotonic() > deadline:
            raise SystemExit(f"{receiver.get_name()}: {len(check)} of {expected} in time")
        await asyncio.sleep(0.2)


async def healthy(client: httpx.AsyncClient, url: str, timeout: float = 180) -> None:
    """A loaded machine may take a minute to start an API."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get(url)).is_success:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"{url} not healthy after {timeout:.0f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--no-webhook",
        action="store_true",
        help="no webhook endpoint (the sharing worker only decides and publishes)",
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    intake_url = await fresh_database(args.url, "bench_chan_intake", "intake")
    sharing_url = await fresh_database(args.url, "bench_chan_sharing", "sharing")
    tokens = TokenFactory.generate()
    police_password = uuid.uuid4().hex
    async with webhook_receiver() as hook:
        await seed(intake_url, sharing_url, None if args.no_webhook else hook.url)
        await run(args, intake_url, sharing_url, tokens, police_password, hook)


async def run(args: argparse.Namespace, intake_url: str, sharing_url: str, tokens: TokenFactory,
              police_password: str, hook: Receiver) -> None:  # fmt: skip
    n = int(args.rate * args.seconds)
    with server_dir("bench-nats") as nats_dir, server_dir("bench-logs") as logs:
        authorization, passwords, sharing_login = lock_nats(nats_dir / "auth", police_password)
        server = NatsServer(
            nats_dir, port=free_port(), authorization_file=authorization, login=sharing_login
        )
        server.start()
        url_of = {
            svc: server.address.replace("nats://", f"nats://casebridge-{svc}:{pw}@", 1)
            for svc, pw in passwords.items()
        }
        jwks = serve_jwks(tokens)
        issuers = json.dumps([{"issuer": tokens.issuer, "jwks_uri": jwks}])
        intake_port, sharing_port = free_port(), free_port()
        env = {
            "INTAKE_DATABASE_URL": intake_url,
            "INTAKE_NATS_URL": url_of["intake"],
            "SHARING_DATABASE_URL": sharing_url,
            "SHARING_NATS_URL": url_of["sharing"],
            "SHARING_SIGNING_KEY_FILE": str(logs / "signing-key.json"),
            "SHARING_DATA_DIR": str(logs),
            "SHARING_WEBHOOK_ALLOW_LOOPBACK": "true",
            "INTAKE_ISSUERS": issuers,
            "SHARING_ISSUERS": issuers,
            **{f"{s}_{k}": v for s in ("INTAKE", "SHARING") for k, v in
               (("LOG_JSON", "false"), ("LOG_LEVEL", "WARNING"))},
        }  # fmt: skip

        def api(module: str, port: int) -> list[str]:
            return [sys.executable, "-m", "uvicorn", f"casebridge.{module}.main:create_app",
                    "--factory", "--port", str(port), "--log-level", "warning",
                    "--no-access-log"]  # fmt: skip

        procs = [
            start(api("intake", intake_port), env, logs / "intake-api.log"),
            start(api("sharing", sharing_port), env, logs / "sharing-api.log"),
            start([sys.executable, "-m", "casebridge.intake.worker"], env, logs / "iw.log"),
            start([sys.executable, "-m", "casebridge.sharing.worker"], env, logs / "sw.log"),
        ]
        stop = asyncio.Event()
        by_nats: dict[str, float] = {}
        by_feed: dict[str, float] = {}
        by_hook = HookSeen(hook)
        try:
            baseline = await baseline_round_trips(url_of["sharing"], 500)
            write = tokens.headers(
                scopes=["complaints:write"],
                agency_id=DEMO_AGENCIES["council"][0],
                area_id=DEMO_AREA_ID,
                audience="urn:casebridge:intake",
            )
            read = tokens.headers(
                scopes=["shares:read"],
                agency_id=POLICE,
                area_id=DEMO_AREA_ID,
                audience="urn:casebridge:sharing",
            )
            intake = httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{intake_port}", headers=write, timeout=30
            )
            for port in (intake_port, sharing_port):
                await healthy(intake, f"http://127.0.0.1:{port}/healthz")
            ready = asyncio.Event()
            receivers = [
                asyncio.create_task(receive_nats(server.address, police_password, by_nats,
                                                 ready, stop), name="nats"),
                asyncio.create_task(receive_feed(f"http://127.0.0.1:{sharing_port}", read,
                                                 by_feed, stop), name="feed"),
            ]  # fmt: skip
            await ready.wait()
            await post_steady(intake, 50, 50)  # warm-up
            await wait_for(by_nats, 50, receivers[0])
            await wait_for(by_feed, 50, receivers[1])
            if not args.no_webhook:
                await wait_for(by_hook, 50, receivers[0])
            warm = set(by_nats)
            started = time.perf_counter()
            await post_steady(intake, n, args.rate)
            posted_in = time.perf_counter() - started
            await wait_for(by_nats, 50 + n, receivers[0])
            await wait_for(by_feed, 50 + n, receivers[1])
            if not args.no_webhook:
                await wait_for(by_hook, 50 + n, receivers[0])
            stop.set()
            await intake.aclose()
            for task in receivers:
                task.cancel()
            committed, published = await stream_times(url_of["sharing"], "INTAKE", logged_complaint)
            decided, shared = await stream_times(url_of["sharing"], "SHARE", police_delivery)
            committed = {k: v for k, v in committed.items() if k not in warm}
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            server.stop()

    print(f"load average after:  {os.getloadavg()}")
    rate = n / posted_in
    print(f"\n{n} complaints posted in {posted_in:.1f} s ({rate:.0f}/s; asked {args.rate:.0f}/s)")
    print(f"{'path':<46} latency")
    print(f"{'baseline: bare JetStream publish -> pull -> ack':<46} {percentiles(baseline)}")
    relay_ms = latencies(committed, published)
    nats_ms, feed_ms = latencies(committed, by_nats), latencies(committed, by_feed)
    print(f"{'committed complaint -> police NATS subject':<46} {percentiles(nats_ms)}")
    print(f"{'  of which: committed -> on INTAKE (relay)':<46} {percentiles(relay_ms)}")
    steps = (
        ("  on INTAKE -> decided in sharing's worker", published, decided),
        ("  decided -> on SHARE (commit, relay)", decided, shared),
        ("  on SHARE -> police NATS subject", shared, by_nats),
    )
    for label, begun, end in steps:
        print(f"{label:<46} {percentiles(between(begun, end, committed))}")
    print(f"{'committed complaint -> police long-polled feed':<46} {percentiles(feed_ms)}")
    if not args.no_webhook:
        hook_ms = latencies(committed, by_hook.times())
        print(f"{'committed complaint -> police webhook receiver':<46} {percentiles(hook_ms)}")


if __name__ == "__main__":
    asyncio.run(main())
