"""The whole system as `make run` starts it: embedded PostgreSQL and nats-server from the
wheels, migrations, seeds, four APIs and four workers as real processes, its output to a
pipe. What it prints is whole (every URL, whatever the width), its logs are JSON lines
without health polls, and the hint's example exists. One complaint posted with a token
from the printed credentials reaches stats, each partner's NATS subject and review;
Ctrl-C (SIGTERM) stops everything cleanly and quietly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from casebridge.devstack import free_port
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.testing.plugin import server_dir
from casebridge.testing.poll import poll
from tests.conftest import COMPLAINT

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "sharing", "review", "stats")


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    var: Path
    log: Path
    ports: dict[str, int]
    nats_url: str
    received: dict[str, list[Any]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def clients(self) -> list[dict[str, Any]]:
        return list(json.loads((self.var / "demo-clients.json").read_text()))


@pytest.fixture(scope="module")
def system_run() -> Iterator[Running]:
    with server_dir("run") as var:
        ports = {svc: free_port() for svc in SERVICES}
        nats_port = free_port()
        env = {
            **os.environ,
            "CASEBRIDGE_VAR_DIR": str(var),
            "CASEBRIDGE_PG_PORT": str(free_port()),
            "CASEBRIDGE_NATS_PORT": str(nats_port),
            **{f"CASEBRIDGE_{svc.upper()}_PORT": str(port) for svc, port in ports.items()},
        }
        log = var / "run.log"
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "run.py")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,  # a pipe, as `make run | tee` or a CI log has it
            stderr=subprocess.STDOUT,
        )
        copier = threading.Thread(target=_copy, args=(proc, log), daemon=True)
        copier.start()
        running = Running(proc, var, log, ports, f"nats://127.0.0.1:{nats_port}")
        try:
            yield running
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _copy(proc: subprocess.Popen[bytes], log: Path) -> None:
    assert proc.stdout is not None
    with log.open("wb") as out:
        for line in proc.stdout:
            out.write(line)
            out.flush()


def check_what_was_printed(run: Running) -> None:
    """Issue 13.6 and 13.9: whole URLs, an example that exists, JSON logs, no polls."""
    text = run.log.read_text(errors="replace")
    lines = text.splitlines()
    assert "…" not in text
    for svc in SERVICES:
        api = run.url(svc)
        assert f"API {api}  docs {api}/docs" in text, text[-3000:]
        assert any(
            line.strip().startswith("database postgresql") and line.endswith(f"/casebridge_{svc}")
            for line in lines
        ), text[-3000:]
    assert f"nats://127.0.0.1:{run.nats_url.rsplit(':', 1)[1]}" in text
    for agency in ("council", "police", "housing"):
        login = next(c for c in run.clients() if c.get("client_id") == f"demo-{agency}")
        assert f"NATS user demo-{agency} password {login['nats_password']}" in text
    hint = next(line for line in lines if "-d @" in line)
    example = hint.split("-d @", 1)[1].split()[0]
    assert (ROOT / example).is_file(), hint
    assert hint.rstrip().endswith(f"{run.url('intake')}/complaints")
    assert any(line.split() == ["demo-admin", "partnership_admin"] for line in lines), text[-3000:]
    assert "/healthz" not in text
    assert "/readyz" not in text
    worker = next(line for line in lines if line.strip().startswith("intake-worker |"))
    assert json.loads(worker.split("| ", 1)[1])["service"] == "intake"


async def wait_until_up(run: Running) -> None:
    async def up() -> bool:
        assert run.proc.poll() is None, run.log.read_text(errors="replace")[-4000:]
        async with httpx.AsyncClient() as client:
            for svc in SERVICES:
                try:
                    if (await client.get(f"{run.url(svc)}/readyz")).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
        return (run.var / "demo-clients.json").exists()

    await poll(up, timeout=180, interval=0.5)


async def token_for(run: Running, agency: str, scope: str) -> str:
    client = next(c for c in run.clients() if c.get("client_id") == f"demo-{agency}")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{run.url('sharing')}/oauth/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(client["client_id"], client["client_secret"]),
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def last_share(run: Running, agency: str) -> dict[str, Any] | None:
    """The last complaint the agency received, read as a partner reads it: with its own
    NATS credentials from var/demo-clients.json, through its own durable consumer."""
    agency_id, _ = DEMO_AGENCIES[agency]
    login = next(c for c in run.clients() if c.get("client_id") == f"demo-{agency}")
    try:
        nc = await nats.connect(
            run.nats_url,
            user=login["nats_user"],
            password=login["nats_password"],
            inbox_prefix=login["nats_inbox_prefix"],
            max_reconnect_attempts=0,
            allow_reconnect=False,
        )
    except nats.errors.NoServersError:
        return None  # the worker has not put the seeded user in the authorization yet
    try:
        subscription = await nc.jetstream().pull_subscribe(
            f"share.{DEMO_AREA_ID}.{agency_id}.complaint.logged.v1",
            durable=login["nats_durable"],
            stream="SHARE",
        )
        try:
            messages = await subscription.fetch(100, timeout=1)
        except nats.errors.TimeoutError:
            messages = []
        for message in messages:
            await message.ack()
            run.received.setdefault(agency, []).append(json.loads(message.data))
        return run.received.get(agency, [None])[-1]
    finally:
        await nc.close()


async def test_make_run_end_to_end(system_run: Running) -> None:
    run = system_run
    await wait_until_up(run)
    await poll(lambda: "Ctrl-C stops everything" in run.log.read_text(errors="replace"), 30)
    check_what_was_printed(run)
    write = await token_for(run, "council", "complaints:write complaints:read")
    stats_token = await token_for(run, "council", "stats:read")
    reviews = await token_for(run, "council", "reviews:read")

    async with httpx.AsyncClient() as http:
        references = []
        for _ in range(2):  # a second report in six months raises the case-review prompt
            response = await http.post(
                f"{run.url('intake')}/complaints",
                json=COMPLAINT,
                headers={"Authorization": f"Bearer {write}"},
            )
            assert response.status_code == 201, response.text
            references.append(response.json()["reference"])

        async def counted() -> bool:
            r = await http.get(
                f"{run.url('stats')}/stats/complaints",
                headers={"Authorization": f"Bearer {stats_token}"},
            )
            return r.status_code == 200 and r.json()["total"] == 2

        await poll(counted, timeout=30)

        async def delivered() -> bool:
            police, housing = await last_share(run, "police"), await last_share(run, "housing")
            return bool(police and housing and police["data"]["reference"] == references[1])

        await poll(delivered, timeout=30)
        police, housing = await last_share(run, "police"), await last_share(run, "housing")
        assert police is not None
        assert housing is not None
        assert "description" not in police["data"]  # narrative never leaves intake
        assert await last_share(run, "council") is None  # the receiving agency gets no copy

        async def prompted() -> bool:
            r = await http.get(
                f"{run.url('review')}/triggers", headers={"Authorization": f"Bearer {reviews}"}
            )
            return r.status_code == 200 and any(
                t["kind"] == "second_report" for t in r.json()["items"]
            )

        await poll(prompted, timeout=30)

    run.proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(run.proc.wait, 60) == 0, run.log.read_text()[-3000:]
    stopped = run.log.read_text(errors="replace")
    assert "stopping PostgreSQL" in stopped
    assert "NATS disconnected" not in stopped  # issue 13.11: a clean stop is quiet
