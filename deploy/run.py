"""`make run`: every Casebridge service and worker on one machine, without Docker.

Starts an embedded PostgreSQL and nats-server under ./var (or uses external ones when
CASEBRIDGE_DATABASE_URL_BASE / CASEBRIDGE_NATS_URL are set), creates the databases, migrates and
seeds each service, then runs each service's API and worker until Ctrl-C or until one dies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
from rich.console import Console
from rich.text import Text

from casebridge.devstack import DevServerError, EmbeddedPostgres, NatsServer
from casebridge.devstack.demo import DEMO_AREA_CODE, DEMO_AREA_NAME
from casebridge.devstack.nats_logins import NatsLogins, prepare_nats_logins

ROOT = Path(__file__).resolve().parents[1]
SERVICES_DIR = ROOT / "services"
PACKAGE = "casebridge.{svc}"  # the service's Python package
SEED = "casebridge.devstack.seeds.{svc}"  # its demo seed (dev tooling, not in the service)
SERVICES = ("sharing", "intake", "review", "stats")  # sharing first: it issues the tokens
DEFAULT_API_PORTS = {"intake": 8001, "sharing": 8002, "review": 8003, "stats": 8004}
STYLES = {"intake": "cyan", "sharing": "magenta", "review": "green", "stats": "yellow"}
HEALTH_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

# soft_wrap: a line is never cut or folded at the console's width (80 columns when the
# output is a pipe or a file): URLs, commands and log lines stay whole for copy and paste.
console = Console(highlight=False, soft_wrap=True)
EXAMPLES = ROOT / "examples"


class RunError(Exception):
    """Something the user has to fix; printed without a traceback."""


@dataclass(frozen=True)
class Config:
    var: Path
    pg_port: int
    nats_port: int
    database_url_base: str | None
    external_nats_url: str | None
    api_ports: dict[str, int]
    allow_missing: bool

    @property
    def sharing_url(self) -> str:
        return f"http://127.0.0.1:{self.api_ports['sharing']}"

    @property
    def demo_clients(self) -> Path:
        return self.var / "demo-clients.json"


def load_config(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="skip services whose migrations or modules do not exist yet (else: fail)",
    )
    args = parser.parse_args(argv)
    env = os.environ
    return Config(
        var=Path(env.get("CASEBRIDGE_VAR_DIR", ROOT / "var")).absolute(),
        pg_port=int(env.get("CASEBRIDGE_PG_PORT", "5433")),
        nats_port=int(env.get("CASEBRIDGE_NATS_PORT", "4223")),
        database_url_base=env.get("CASEBRIDGE_DATABASE_URL_BASE") or None,
        external_nats_url=env.get("CASEBRIDGE_NATS_URL") or None,
        api_ports={
            svc: int(env.get(f"CASEBRIDGE_{svc.upper()}_PORT", str(port)))
            for svc, port in DEFAULT_API_PORTS.items()
        },
        allow_missing=args.allow_missing,
    )


# ---- what exists ------------------------------------------------------------------------
def package(svc: str) -> str:
    return PACKAGE.format(svc=svc)


def seed_module(svc: str) -> str:
    return SEED.format(svc=svc)


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Plan:
    """Which steps each service can run; `missing` says what could not be found."""

    migrate: list[str] = field(default_factory=list)
    seed: list[str] = field(default_factory=list)
    api: list[str] = field(default_factory=list)
    worker: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def make_plan() -> Plan:
    plan = Plan()
    for svc in SERVICES:
        ini = SERVICES_DIR / svc / "alembic.ini"
        if ini.exists():
            plan.migrate.append(svc)
        else:
            plan.missing.append(f"services/{svc}/alembic.ini")
        if module_exists(seed_module(svc)):  # optional: not every service seeds
            plan.seed.append(svc)
        for role, steps in (("main", plan.api), ("worker", plan.worker)):
            if module_exists(f"{package(svc)}.{role}"):
                steps.append(svc)
            else:
                plan.missing.append(f"module {package(svc)}.{role}")
    return plan


# ---- environment ------------------------------------------------------------------------
@dataclass(frozen=True)
class NatsAccess:
    """How each service reaches NATS; with the embedded server, each as its own user and
    sharing keeping the server's authorization in step with the registry."""

    urls: dict[str, str]
    address: str
    logins: NatsLogins | None = None
    pid_file: Path | None = None


def child_env(cfg: Config, database_url_base: str, nats: NatsAccess) -> dict[str, str]:
    issuers = json.dumps(
        [{"issuer": cfg.sharing_url, "jwks_uri": f"{cfg.sharing_url}/.well-known/jwks.json"}]
    )
    env = dict(os.environ)
    json_logs = log_format(env) == "json"
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "SHARING_ISSUER_URL": cfg.sharing_url,
            "SHARING_SIGNING_KEY_FILE": str(cfg.var / "keys" / "signing-key.json"),
        }
    )
    # The demo area's name on stats' public page (/public/DMO/case-reviews).
    env.setdefault("STATS_AREA_NAMES", json.dumps({DEMO_AREA_CODE: DEMO_AREA_NAME}))
    for svc in SERVICES:
        prefix = svc.upper()
        env[f"{prefix}_DATABASE_URL"] = f"{database_url_base}/casebridge_{svc}"
        env[f"{prefix}_NATS_URL"] = nats.urls[svc]
        env[f"{prefix}_ISSUERS"] = issuers
        env[f"{prefix}_DATA_DIR"] = str(cfg.var)
        env.setdefault(f"{prefix}_LOG_JSON", "true" if json_logs else "false")
    if nats.logins is not None:
        env["SHARING_NATS_AUTHORIZATION_FILE"] = str(nats.logins.authorization_file)
        env["SHARING_NATS_SERVICE_LOGINS_FILE"] = str(nats.logins.services_file)
        if nats.pid_file is not None:
            env["SHARING_NATS_SERVER_PID_FILE"] = str(nats.pid_file)
    if cfg.database_url_base is None:
        # The embedded server trusts local logins: sharing's API and worker connect as its
        # application role (created by its migrations), which may only add to the disclosure
        # log; the migrations run as the owner. External servers: see deploy/README.md.
        owner = env["SHARING_DATABASE_URL"]
        env["SHARING_MIGRATION_DATABASE_URL"] = owner
        role = os.environ.get("SHARING_APP_ROLE", "casebridge_sharing_app")
        env["SHARING_DATABASE_URL"] = owner.replace("://postgres@", f"://{role}@", 1)
    return env


def log_format(env: dict[str, str]) -> str:
    """JSON logs when asked (CASEBRIDGE_LOG_FORMAT=json) or when the output is not a
    terminal (a file, a pipe, a log collector); one readable line per record at a
    terminal (or with CASEBRIDGE_LOG_FORMAT=text)."""
    asked = env.get("CASEBRIDGE_LOG_FORMAT", "").strip().lower()
    if asked in ("json", "text"):
        return asked
    return "text" if console.is_terminal else "json"


def plain_url(url: str) -> str:
    """asyncpg wants postgresql://, SQLAlchemy postgresql+asyncpg://."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


async def create_databases(database_url_base: str) -> None:
    conn = await asyncpg.connect(plain_url(f"{database_url_base}/postgres"))
    try:
        for svc in SERVICES:
            name = f"casebridge_{svc}"
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
                console.print(f"[bold]created database[/] {name}")
    finally:
        await conn.close()


# ---- child processes --------------------------------------------------------------------
@dataclass
class Child:
    name: str
    style: str
    proc: asyncio.subprocess.Process
    pump: asyncio.Task[None]


async def spawn(name: str, style: str, argv: list[str], env: dict[str, str], cwd: Path) -> Child:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the runner only; it stops children in order
    )
    return Child(name, style, proc, asyncio.create_task(pump_output(name, style, proc)))


async def pump_output(name: str, style: str, proc: asyncio.subprocess.Process) -> None:
    assert proc.stdout is not None
    prefix = Text(f"{name:>15} | ", style=style)
    async for raw in proc.stdout:
        console.print(prefix + Text(raw.decode(errors="replace").rstrip("\n")), soft_wrap=True)


async def run_step(name: str, style: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
    """Run a one-shot command (migration, seed) with prefixed output; raise if it fails."""
    child = await spawn(name, style, argv, env, cwd)
    code = await child.proc.wait()
    await child.pump
    if code != 0:
        raise RunError(f"{name} failed with exit code {code}: {' '.join(argv)}")


def signal_group(child: Child, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.proc.pid, sig)


async def stop_children(children: list[Child]) -> None:
    """SIGTERM every child, wait, then SIGKILL what is left."""
    for child in children:
        if child.proc.returncode is None:
            signal_group(child, signal.SIGTERM)
    waits = [asyncio.create_task(child.proc.wait()) for child in children]
    if waits:
        _, pending = await asyncio.wait(waits, timeout=STOP_TIMEOUT)
        for child in children:
            if child.proc.returncode is None:
                console.print(f"[bold red]{child.name} ignored SIGTERM; killing it[/]")
                signal_group(child, signal.SIGKILL)
        if pending:
            await asyncio.wait(pending, timeout=5)
    for child in children:
        child.pump.cancel()


def pid_file(cfg: Config) -> Path:
    return cfg.var / "run" / "children.json"


def record_children(cfg: Config, children: list[Child]) -> None:
    path = pid_file(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{"name": c.name, "pid": c.proc.pid} for c in children]))


def kill_leftover_children(cfg: Config) -> None:
    """Children of a runner that was SIGKILLed keep their ports: stop them first."""
    try:
        leftovers: list[dict[str, Any]] = json.loads(pid_file(cfg).read_text())
    except (OSError, ValueError):
        return
    killed: list[int] = []
    for entry in leftovers:
        pid = int(entry["pid"])
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if package("").encode() in cmdline:
            console.print(f"[yellow]stopping leftover {entry['name']} (pid {pid})[/]")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                killed.append(pid)
    pid_file(cfg).unlink(missing_ok=True)
    # Their ports are free once they are gone: wait for that, with a deadline.
    deadline = time.monotonic() + 5.0
    while any(_alive(pid) for pid in killed) and time.monotonic() < deadline:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped (it holds no ports)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


async def wait_healthy(child: Child, port: int) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + HEALTH_TIMEOUT
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if child.proc.returncode is not None:
                raise RunError(f"{child.name} exited with {child.proc.returncode} while starting")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RunError(f"{child.name}: {url} not healthy after {HEALTH_TIMEOUT:.0f}s")


# ---- the run ----------------------------------------------------------------------------
async def prepare(cfg: Config, plan: Plan, env: dict[str, str], db_base: str) -> None:
    await create_databases(db_base)
    (cfg.var / "keys").mkdir(parents=True, exist_ok=True)
    for svc in SERVICES:
        svc_dir = SERVICES_DIR / svc
        if svc in plan.migrate:
            argv = [sys.executable, "-m", "alembic", "-c", "alembic.ini", "upgrade", "head"]
            await run_step(f"{svc}-migrate", STYLES[svc], argv, env, svc_dir)
        if svc in plan.seed:
            argv = [sys.executable, "-m", seed_module(svc)]
            await run_step(f"{svc}-seed", STYLES[svc], argv, env, ROOT)


async def start_children(cfg: Config, plan: Plan, env: dict[str, str]) -> list[Child]:
    children: list[Child] = []
    for svc in SERVICES:
        if svc in plan.api:
            port = str(cfg.api_ports[svc])
            argv = [sys.executable, "-m", "uvicorn", f"{package(svc)}.main:create_app"]
            argv += ["--factory", "--host", "127.0.0.1", "--port", port]
            children.append(await spawn(f"{svc}-api", STYLES[svc], argv, env, ROOT))
        if svc in plan.worker:
            argv = [sys.executable, "-m", f"{package(svc)}.worker"]
            children.append(await spawn(f"{svc}-worker", STYLES[svc], argv, env, ROOT))
    record_children(cfg, children)
    return children


async def supervise(children: list[Child], stop: asyncio.Event) -> int:
    """Wait for Ctrl-C/SIGTERM (exit 0) or for any child to die (exit 1)."""
    stopper = asyncio.create_task(stop.wait())
    exits = {asyncio.create_task(c.proc.wait()): c for c in children}
    done, _ = await asyncio.wait([stopper, *exits], return_when=asyncio.FIRST_COMPLETED)
    for task in [stopper, *exits]:
        if task not in done:
            task.cancel()
    if stopper in done:
        console.print("\n[bold]stopping...[/]")
        return 0
    for task in done:
        child = exits[task]
        await asyncio.sleep(0.2)  # let its last lines reach the console
        console.rule(f"[bold red]{child.name} DIED with exit code {child.proc.returncode}[/]")
    console.print("[bold red]one process died: shutting everything down[/]")
    return 1


async def run_services(cfg: Config, plan: Plan, db_base: str, nats: NatsAccess) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    env = child_env(cfg, db_base, nats)
    children: list[Child] = []
    try:
        await prepare(cfg, plan, env, db_base)
        children = await start_children(cfg, plan, env)
        for child in children:
            if child.name.endswith("-api"):
                svc = child.name.removesuffix("-api")
                await wait_healthy(child, cfg.api_ports[svc])
        print_summary(cfg, children, db_base, nats.address)
        return await supervise(children, stop)
    except RunError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 1
    finally:
        await stop_children(children)
        pid_file(cfg).unlink(missing_ok=True)


# ---- summary ----------------------------------------------------------------------------
def demo_clients(cfg: Config) -> list[dict[str, Any]]:
    """The OAuth clients in var/demo-clients.json, whatever its shape (none if unreadable)."""
    try:
        data: Any = json.loads(cfg.demo_clients.read_text())
    except (OSError, ValueError):
        return []
    if isinstance(data, dict):
        data = data.get("clients", list(data.values()))
    return [
        client
        for client in (data if isinstance(data, list) else [])
        if isinstance(client, dict) and "client_id" in client and "client_secret" in client
    ]


def demo_credentials(cfg: Config) -> tuple[str, str]:
    """The first client in var/demo-clients.json, or placeholders."""
    for client in demo_clients(cfg):
        return str(client["client_id"]), str(client["client_secret"])
    return "CLIENT_ID", "SECRET"


def demo_logins(cfg: Config) -> list[str]:
    """Each demo agency's OAuth client and, beside it, its NATS user: it may read only
    share.<area>.<agency>.> (with its inbox prefix and its own durable consumer on SHARE)."""
    try:
        data: Any = json.loads(cfg.demo_clients.read_text())
    except (OSError, ValueError):
        return []
    lines = []
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict) and "nats_user" in entry:
            lines.append(
                f"    {entry['client_id']}: client_secret {entry.get('client_secret')}  "
                f"NATS user {entry['nats_user']} password {entry.get('nats_password')}  "
                f"subjects {entry.get('nats_subjects')} inbox {entry.get('nats_inbox_prefix')}"
            )
    return lines


def example(name: str) -> str:
    """An example request body, as a path the user can paste from where make run was typed."""
    path = EXAMPLES / name
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def print_summary(cfg: Config, children: list[Child], db_base: str, nats_url: str) -> None:
    """What is where, one line per fact: every URL whole whatever the output's width."""
    pids = {child.name: child.proc.pid for child in children}
    console.print("\n[bold]Casebridge is running[/]")
    for svc in SERVICES:
        api = f"http://127.0.0.1:{cfg.api_ports[svc]}"
        up = f"{svc}-api" in pids
        where = f"API {api}  docs {api}/docs" if up else "API (not started)"
        worker = pids.get(f"{svc}-worker", "(not started)")
        console.print(
            Text(f"  {svc:<8}", style=STYLES[svc]) + Text(f" {where}  worker pid {worker}")
        )
        console.print(f"           database {db_base}/casebridge_{svc}")
    console.print(f"  NATS     {nats_url}")
    console.print(f"  data     {cfg.var}")
    console.print(f"  clients  {cfg.demo_clients}  (which for what: README, docs/roles.md)")
    for client in demo_clients(cfg):
        roles = ", ".join(str(r) for r in client.get("roles") or []) or "(no roles)"
        console.print(f"           {client['client_id']:<18} {roles}", markup=False)
    console.print("  NATS logins (each agency's own subjects only)")
    for line in demo_logins(cfg):
        console.print(Text(line))
    client_id, secret = demo_credentials(cfg)
    intake = f"http://127.0.0.1:{cfg.api_ports['intake']}"
    post = 'curl -s -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json"'
    console.print(
        "\n[bold]Get a token[/]\n"
        f"  TOKEN=$(curl -s -u {client_id}:{secret} -d grant_type=client_credentials "
        f"{cfg.sharing_url}/oauth/token | python3 -c 'import sys,json;"
        'print(json.load(sys.stdin)["access_token"])\')\n'
        "[bold]Log a complaint[/] (more examples in examples/; the schema is in the intake docs)\n"
        f"  {post} -d @{example('complaint.json')} {intake}/complaints\n"
        f"Ctrl-C stops everything; the data stays in {cfg.var} (make clean removes var/).\n"
    )


# ---- infrastructure ---------------------------------------------------------------------
def with_login(address: str, login: tuple[str, str]) -> str:
    user, password = (quote(part, safe="") for part in login)
    return address.replace("nats://", f"nats://{user}:{password}@", 1)


def raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    cfg = load_config(argv)
    plan = make_plan()
    if plan.missing:
        colour = "yellow" if cfg.allow_missing else "red"
        for item in plan.missing:
            console.print(f"[bold {colour}]missing:[/] {item}")
        if not cfg.allow_missing:
            console.print("[bold red]cannot run: the pieces above do not exist[/]")
            return 2
    if not (plan.api or plan.worker):
        console.print("[bold red]nothing to run: no service has an API or worker module[/]")
        return 2
    # SIGTERM before the event loop runs must still stop the servers in `finally`
    signal.signal(signal.SIGTERM, raise_interrupt)
    cfg.var.mkdir(parents=True, exist_ok=True)
    kill_leftover_children(cfg)
    pg: EmbeddedPostgres | None = None
    nats: NatsServer | None = None
    try:
        if cfg.database_url_base:
            db_base = cfg.database_url_base.rstrip("/")
        else:
            pg = EmbeddedPostgres(cfg.var / "pg", cfg.pg_port)
            console.print(
                f"[bold]starting PostgreSQL[/] on 127.0.0.1:{cfg.pg_port} ({pg.data_dir})"
            )
            pg.start()
            db_base = pg.url("").rstrip("/")
        if cfg.external_nats_url:
            url = cfg.external_nats_url
            access = NatsAccess(dict.fromkeys(SERVICES, url), url)
        else:
            logins = prepare_nats_logins(cfg.var / "nats" / "auth")
            nats = NatsServer(
                cfg.var / "nats", cfg.nats_port, authorization_file=logins.authorization_file
            )
            console.print(f"[bold]starting nats-server[/] on {nats.address} ({nats.data_dir})")
            nats.start()
            urls = {svc: with_login(nats.address, logins.login(svc)) for svc in SERVICES}
            access = NatsAccess(urls, nats.address, logins, nats.pid_file)
        return asyncio.run(run_services(cfg, plan, db_base, access))
    except KeyboardInterrupt:
        console.print("\n[bold]interrupted[/]")
        return 130
    except (DevServerError, RunError, OSError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip this
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if nats is not None:
            console.print("[bold]stopping nats-server[/]")
            nats.stop()
        if pg is not None:
            console.print("[bold]stopping PostgreSQL[/]")
            pg.stop("fast")


if __name__ == "__main__":
    sys.exit(main())
