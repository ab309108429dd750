"""nats-server's authorization, generated from the partner registry: each agency's NATS users
may read only their agency's subjects, and no partner may publish a delivery.

An agency's user (`NatsUser`, bcrypt hash) may
- subscribe to `share.<area>.<agency>.>` (core NATS) and to its own inboxes
  `_INBOX.<username>.>` (its client must use that inbox prefix: another agency's inboxes
  carry that agency's fetched messages);
- consume its own durable pull consumer on SHARE, named after the user: look it up, create
  it only with the filter `share.<area>.<agency>.>` (or narrower; the server checks the
  request's filter against the subject), fetch and acknowledge;
- nothing else: publishing on `share.>` (or anywhere but those JetStream subjects) is refused.

The Casebridge services connect as service users (one per service, hashes given to the
generator); only sharing may publish on `share.>`. The sharing worker writes the file again
when the registry changes (a user created or revoked, an agency moved or deactivated) and
tells nats-server to reload it (SIGHUP), when `SHARING_NATS_AUTHORIZATION_FILE` is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from casebridge.common.events.errors import is_infrastructure_error
from casebridge.sharing.models import Agency, NatsUser

log = logging.getLogger(__name__)

SERVICES = ("intake", "sharing", "review", "stats")
SHARE_STREAM = "SHARE"


@dataclass(frozen=True)
class NatsLogin:
    """One user of nats-server's `authorization` block."""

    user: str
    password_hash: str
    permissions: Mapping[str, Any]

    def entry(self) -> dict[str, Any]:
        return {"user": self.user, "password": self.password_hash, "permissions": self.permissions}


def agency_subjects(area_id: UUID, agency_id: UUID) -> str:
    return f"share.{area_id}.{agency_id}.>"


def inbox_prefix(username: str) -> str:
    """The inbox prefix an agency's client connects with (nats-py: `inbox_prefix=`)."""
    return f"_INBOX.{username}"


def agency_login(username: str, password_hash: str, area_id: UUID, agency_id: UUID) -> NatsLogin:
    own = agency_subjects(area_id, agency_id)
    api = f"$JS.API.CONSUMER.{{}}.{SHARE_STREAM}.{username}"
    return NatsLogin(
        user=username,
        password_hash=password_hash,
        permissions={
            "publish": {
                "allow": [
                    api.format("INFO"),
                    f"{api.format('CREATE')}.{own}",
                    api.format("MSG.NEXT"),
                    f"$JS.ACK.{SHARE_STREAM}.{username}.>",
                ],
                "deny": ["share.>"],
            },
            "subscribe": {"allow": [own, f"{inbox_prefix(username)}.>"]},
        },
    )


def service_login(service: str, password_hash: str) -> NatsLogin:
    """A Casebridge service: everything, except that only sharing delivers to partners."""
    publish: dict[str, Any] = {"allow": [">"]}
    if service != "sharing":
        publish["deny"] = ["share.>"]
    return NatsLogin(
        user=f"casebridge-{service}",
        password_hash=password_hash,
        permissions={"publish": publish, "subscribe": {"allow": [">"]}},
    )


def render(logins: Sequence[NatsLogin]) -> str:
    """The `authorization` block, in nats-server's configuration syntax (JSON is part of it)."""
    block = {"users": [login.entry() for login in logins]}
    return "# Generated from Casebridge's partner registry: do not edit.\n" + (
        f"authorization {json.dumps(block, indent=2)}\n"
    )


async def agency_logins(session: AsyncSession) -> list[NatsLogin]:
    """Every active NATS user of an active agency, fenced to its agency's subjects."""
    rows = await session.execute(
        select(NatsUser.username, NatsUser.password_hash, Agency.area_id, Agency.id)
        .join(Agency, Agency.id == NatsUser.agency_id)
        .where(NatsUser.active, NatsUser.revoked_at.is_(None), Agency.active)
        .order_by(NatsUser.username)
    )
    return [agency_login(*row) for row in rows.all()]


def service_logins(path: Path) -> list[NatsLogin]:
    """The services' users from a JSON file `{service: bcrypt hash}` (written by whoever
    runs nats-server: `make run`, the test harness, the deployment)."""
    hashes: dict[str, str] = json.loads(path.read_text())
    return [service_login(name, hashes[name]) for name in SERVICES if name in hashes]


async def write_authorization(
    session: AsyncSession, *, path: Path, services: Sequence[NatsLogin]
) -> bool:
    """Write the file if it changed (atomically); True when it did."""
    text = render([*services, *await agency_logins(session)])
    return await asyncio.to_thread(_replace_if_changed, path, text)


def _replace_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    partial = path.with_suffix(".partial")
    partial.touch(mode=0o600, exist_ok=True)
    partial.write_text(text)
    partial.replace(path)
    return True


def reload_server(pid_file: Path) -> None:
    """Ask nats-server to read its configuration again (as `nats-server --signal reload`)."""
    os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)


async def refresh(
    sessions: async_sessionmaker[AsyncSession],
    *,
    path: Path,
    services: Sequence[NatsLogin],
    pid_file: Path | None,
) -> bool:
    """One pass: rewrite the file from the registry and, if it changed, reload the server."""
    async with sessions() as session:
        changed = await write_authorization(session, path=path, services=services)
    if changed and pid_file is not None:
        reload_server(pid_file)
        log.info("NATS authorization rewritten from the registry; nats-server reloads it")
    return changed


def keep_authorization(
    *, path: Path, services_file: Path, pid_file: Path | None, interval: float
) -> Any:
    """A worker job: the file follows the registry; nats-server reloads it on a change."""

    async def job(
        engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event
    ) -> None:
        services = service_logins(services_file)
        while not stop.is_set():
            try:
                await refresh(sessions, path=path, services=services, pid_file=pid_file)
            except Exception as exc:
                # The database away: the next round catches up. Anything else (the file
                # not writable, a registry row the renderer refuses) is logged with its
                # trace; the file in force stays as it was, and the next round tries again.
                if is_infrastructure_error(exc):
                    log.warning("NATS authorization: database unavailable; will retry")
                else:
                    log.exception("could not bring NATS authorization up to date; will retry")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    job.__name__ = "nats-authorization"
    return job
