"""Seed the demo area, its three agencies (core partners), their OAuth clients with the roles
their real counterparts would have (docs/roles.md) and the default information-sharing
protocol as version 1 (idempotent). The area, the agencies and
the protocol are registered as an administrator would: announced, so intake and review
build their replicas from the events.

A secret is known only when it is made, so the seed keeps the demo secrets in
`<data_dir>/demo-clients.json` (merged with what other seeds wrote there) and rotates a
client's secret when the file no longer holds a working one.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from uuid import UUID

import bcrypt
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.common.isp.directory import today
from casebridge.common.isp.document import Protocol, validate
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.sharing import nats_auth, protocol, registry
from casebridge.sharing.credentials import hash_secret, new_secret, verify_secret
from casebridge.sharing.endpoints import nats_password_hash
from casebridge.sharing.models import Agency, Area, NatsUser, OAuthClient
from casebridge.sharing.registry_schemas import AgencyCreate, AgencyUpdate
from casebridge.sharing.settings import Settings

DEMO_CLIENTS_FILE = "demo-clients.json"
CALL_HANDLER_SCOPES = (
    "complaints:write",
    "complaints:read",
    "people:read",
    "reviews:read",
    "reviews:write",
    "reviews:panel",
    "stats:read",
    "shares:read",
    "cases:write",
)


@dataclass(frozen=True)
class DemoClient:
    """One demo system: whose it is, what it may reach, the roles its users hold, and what a
    newcomer uses it for (printed by `make run`, kept in demo-clients.json)."""

    client_id: str
    kind: str  # the agency's kind in DEMO_AGENCIES
    scopes: tuple[str, ...]
    roles: tuple[str, ...]
    use_for: str


DEMO_CLIENTS: tuple[DemoClient, ...] = (
    DemoClient(
        "demo-council",
        "council",
        (*CALL_HANDLER_SCOPES, "people:write"),
        ("analyst", "call_handler", "case_officer", "panel_member", "spoc"),
        "the council's ASB case system: log and read complaints, merge two logs, run case "
        "reviews as the area's SPOC, vote on the panel, statistics",
    ),
    DemoClient(
        "demo-police",
        "police",
        CALL_HANDLER_SCOPES,
        ("analyst", "call_handler", "case_officer", "panel_member"),
        "the police force's control room and case system: log and read complaints, apply for "
        "a case review, vote on the panel (not the SPOC here: it cannot acknowledge)",
    ),
    DemoClient(
        "demo-housing",
        "housing",
        CALL_HANDLER_SCOPES,
        ("call_handler", "case_officer", "panel_member"),
        "the housing provider's tenancy system: log and read complaints, vote on the panel "
        "(no analyst: its statistics calls answer 403)",
    ),
    DemoClient(
        "demo-admin",
        "council",
        ("shares:admin", "shares:read", "reviews:read", "reviews:write"),
        ("partnership_admin",),
        "the partnership administrator: partners and their clients, the information-sharing "
        "protocol, the area's case review procedure (PUT /config)",
    ),
    *(
        DemoClient(
            f"demo-{kind}-dpo",
            kind,
            ("audit:read", "shares:read"),
            ("dpo",),
            f"the {kind}'s data protection officer: the disclosure audit, what it was sent",
        )
        for kind in ("council", "police", "housing")
    ),
)


def demo_client_id(kind: str) -> str:
    """The agency's own system's client (the one that logs complaints)."""
    return f"demo-{kind}"


def default_protocol(seeded_on: date) -> Protocol:
    """The shipped default, in force for a year from the seed date (so the demo keeps
    sharing; a real partnership signs its own)."""
    text = files("casebridge.common.isp").joinpath("default.yaml").read_text()
    data = yaml.safe_load(text)
    data["review_date"] = seeded_on + timedelta(days=365)
    return validate(data)


def read_entries(path: Path) -> list[Any]:
    """The file's entries; a file we cannot read as a list is an error, never overwritten."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        raise SystemExit(f"{path} is not a JSON list; move it away and seed again")
    return data


def write_entries(path: Path, entries: list[Any]) -> None:
    """Replace the file atomically, readable only by its owner (it holds secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".demo-clients-")
    with os.fdopen(fd, "w") as handle:
        json.dump(entries, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


def merge(existing: list[Any], ours: list[dict[str, Any]]) -> list[Any]:
    """Ours replace entries with the same client_id in place; everything else is kept."""
    by_id = {entry["client_id"]: entry for entry in ours}
    merged = [
        by_id.pop(entry["client_id"])
        if isinstance(entry, dict) and entry.get("client_id") in by_id
        else entry
        for entry in existing
    ]
    return merged + list(by_id.values())


async def _ensure_client(
    session: AsyncSession, *, demo: DemoClient, agency_id: UUID, known_secret: str | None
) -> str:
    """Create or update the demo client; return a secret that works for it."""
    client_id = demo.client_id
    client = await session.get(OAuthClient, client_id)
    secret = known_secret
    if client is None:
        secret = new_secret()
        client = OAuthClient(
            client_id=client_id, secret_hash=hash_secret(secret), agency_id=agency_id
        )
        session.add(client)
    elif secret is None or not verify_secret(client.secret_hash, secret):
        secret = new_secret()  # the file lost it: rotate, since nobody can know the old one
        client.secret_hash = hash_secret(secret)
    client.scopes = list(demo.scopes)
    client.roles = list(demo.roles)
    client.grant_types = ["client_credentials"]
    await session.flush()  # a demo client an administrator revoked stays revoked
    return secret


async def _ensure_nats_user(
    session: AsyncSession, *, kind: str, agency_id: UUID, known_password: str | None
) -> dict[str, str]:
    """The demo agency's NATS user (`demo-<kind>`) and a password that works for it; the
    sharing worker puts it in nats-server's authorization, fenced to its own subjects."""
    username = demo_client_id(kind)
    user = await session.scalar(select(NatsUser).where(NatsUser.username == username))
    password = known_password
    if user is None:
        password = new_secret()
        user = NatsUser(
            agency_id=agency_id, username=username, password_hash=nats_password_hash(password)
        )
        session.add(user)
    elif password is None or not bcrypt.checkpw(password.encode(), user.password_hash.encode()):
        password = new_secret()
        user.password_hash = nats_password_hash(password)
    await session.flush()
    assert password is not None
    return {
        "nats_user": username,
        "nats_password": password,
        "nats_subjects": nats_auth.agency_subjects(DEMO_AREA_ID, agency_id),
        "nats_inbox_prefix": nats_auth.inbox_prefix(username),
        "nats_durable": username,
    }


async def _ensure_registry(session: AsyncSession) -> None:
    """The demo area, its agencies as core partners and protocol version 1, each announced
    when it is new (or changed)."""
    await registry.register_area(
        session, code=DEMO_AREA_CODE, name=DEMO_AREA_NAME, area_id=DEMO_AREA_ID
    )
    for kind, (agency_id, name) in DEMO_AGENCIES.items():
        agency = await session.get(Agency, agency_id, with_for_update=True)
        if agency is None:
            data = AgencyCreate(name=name, kind=kind, core_partner=True)
            await registry.register_agency(
                session, area_id=DEMO_AREA_ID, data=data, agency_id=agency_id
            )
        else:  # a data folder from before the registry knew core partners
            change = AgencyUpdate(core_partner=True, active=True)
            await registry.apply_change(session, agency, change)
    if await protocol.latest(session, DEMO_AREA_ID) is None:
        area = await session.get(Area, DEMO_AREA_ID, with_for_update=True)
        assert area is not None
        await protocol.publish_document(
            session,
            area=area,
            protocol=default_protocol(today()),
            by=protocol.Publisher("seed", "the demo seed", None),
        )


async def seed(settings: Settings) -> list[dict[str, Any]]:
    """Seed the registry and write the demo credentials; return our entries."""
    path = settings.data_dir / DEMO_CLIENTS_FILE
    existing = read_entries(path)
    known = {
        e["client_id"]: e
        for e in existing
        if isinstance(e, dict) and isinstance(e.get("client_id"), str)
    }
    engine = make_engine(settings)
    ours: list[dict[str, Any]] = []
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await _ensure_registry(session)
            for demo in DEMO_CLIENTS:
                agency_id, name = DEMO_AGENCIES[demo.kind]
                secret = await _ensure_client(
                    session,
                    demo=demo,
                    agency_id=agency_id,
                    known_secret=known.get(demo.client_id, {}).get("client_secret"),
                )
                nats: dict[str, str] = {}
                if demo.client_id == demo_client_id(demo.kind):  # the agency's own system
                    nats = await _ensure_nats_user(
                        session,
                        kind=demo.kind,
                        agency_id=agency_id,
                        known_password=known.get(demo.client_id, {}).get("nats_password"),
                    )
                ours.append(
                    {
                        "client_id": demo.client_id,
                        "client_secret": secret,
                        "agency_id": str(agency_id),
                        "agency_name": name,
                        "area_id": str(DEMO_AREA_ID),
                        "scopes": list(demo.scopes),
                        "roles": list(demo.roles),
                        "use_for": demo.use_for,
                        **nats,
                    }
                )
            # Written inside the transaction: if the file cannot be written, nothing rotates.
            write_entries(path, merge(existing, ours))
    finally:
        await engine.dispose()
    return ours


def credentials_table(entries: list[dict[str, Any]]) -> str:
    """Each demo client with its roles and, beside an agency's own system, its NATS user
    (same name) and the subjects that user may read."""
    rows = [("client_id", "client_secret", "nats_password", "roles", "subjects")] + [
        (
            e["client_id"],
            e["client_secret"],
            e.get("nats_password", "-"),
            " ".join(e["roles"]) or "-",
            e.get("nats_subjects", "-"),
        )
        for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    return "\n".join(lines)


def main() -> None:
    settings = Settings()
    entries = asyncio.run(seed(settings))
    print(f"Demo OAuth clients (also in {settings.data_dir / DEMO_CLIENTS_FILE}):")
    print(credentials_table(entries))


if __name__ == "__main__":
    main()
