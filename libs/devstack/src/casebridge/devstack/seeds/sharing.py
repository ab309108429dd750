"""Seed the demo area, its three agencies and one OAuth client each (idempotent).

A secret is known only when it is made, so the seed keeps the demo secrets in
`<data_dir>/demo-clients.json` (merged with what other seeds wrote there) and rotates a
client's secret when the file no longer holds a working one.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.sharing.credentials import hash_secret, new_secret, verify_secret
from casebridge.sharing.models import Agency, Area, OAuthClient
from casebridge.sharing.settings import Settings

DEMO_CLIENTS_FILE = "demo-clients.json"
CALL_HANDLER_SCOPES = (
    "complaints:write",
    "complaints:read",
    "people:read",
    "reviews:read",
    "reviews:write",
    "stats:read",
    "shares:read",
)
EXTRA_SCOPES: dict[str, tuple[str, ...]] = {
    "council": ("reviews:panel", "shares:admin"),
    "police": ("reviews:panel",),
    "housing": ("reviews:panel",),
}


def demo_client_id(kind: str) -> str:
    return f"demo-{kind}"


def demo_scopes(kind: str) -> list[str]:
    return [*CALL_HANDLER_SCOPES, *EXTRA_SCOPES.get(kind, ())]


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
    session: AsyncSession, *, kind: str, agency_id: UUID, known_secret: str | None
) -> str:
    """Create or update the demo client; return a secret that works for it."""
    client_id = demo_client_id(kind)
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
    client.scopes = demo_scopes(kind)
    client.grant_types = ["client_credentials"]
    client.active = True
    await session.flush()
    return secret


async def seed(settings: Settings) -> list[dict[str, Any]]:
    """Seed the registry and write the demo credentials; return our entries."""
    path = settings.data_dir / DEMO_CLIENTS_FILE
    existing = read_entries(path)
    secrets = {
        e["client_id"]: e.get("client_secret")
        for e in existing
        if isinstance(e, dict) and isinstance(e.get("client_id"), str)
    }
    engine = make_engine(settings)
    ours: list[dict[str, Any]] = []
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await session.execute(
                insert(Area)
                .values(id=DEMO_AREA_ID, code=DEMO_AREA_CODE, name=DEMO_AREA_NAME)
                .on_conflict_do_nothing()
            )
            for kind, (agency_id, name) in DEMO_AGENCIES.items():
                await session.execute(
                    insert(Agency)
                    .values(id=agency_id, area_id=DEMO_AREA_ID, name=name, kind=kind)
                    .on_conflict_do_nothing()
                )
                secret = await _ensure_client(
                    session,
                    kind=kind,
                    agency_id=agency_id,
                    known_secret=secrets.get(demo_client_id(kind)),
                )
                ours.append(
                    {
                        "client_id": demo_client_id(kind),
                        "client_secret": secret,
                        "agency_id": str(agency_id),
                        "agency_name": name,
                        "area_id": str(DEMO_AREA_ID),
                        "scopes": demo_scopes(kind),
                    }
                )
            # Written inside the transaction: if the file cannot be written, nothing rotates.
            write_entries(path, merge(existing, ours))
    finally:
        await engine.dispose()
    return ours


def credentials_table(entries: list[dict[str, Any]]) -> str:
    rows = [("client_id", "client_secret", "agency", "scopes")] + [
        (e["client_id"], e["client_secret"], e["agency_name"], " ".join(e["scopes"]))
        for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
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
