"""Seed the demo area, its agencies and one demo reporting app, so `make run` can take
complaints at once. The app's api_key goes into <data dir>/demo-clients.json, a list shared
with the other services' seeds: read, merge, write (their entries are kept)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from casebridge.common.db import make_engine
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.intake.models import Area, Open311Client, PartnerAgency
from casebridge.intake.open311.service import key_digest
from casebridge.intake.settings import Settings

DEMO_APP_NAME = "Demo reporting app (Open311)"


def read_clients(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8") or "[]")
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a JSON list of demo clients")
    return data


def write_clients(path: Path, clients: list[dict[str, Any]]) -> None:
    """Atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        json.dump(clients, tmp, indent=2)
    os.replace(tmp.name, path)


async def _seed_area(conn: AsyncConnection) -> None:
    area = {"id": DEMO_AREA_ID, "code": DEMO_AREA_CODE, "name": DEMO_AREA_NAME}
    await conn.execute(insert(Area).values(area).on_conflict_do_nothing())
    agencies = [
        {"id": agency_id, "area_id": DEMO_AREA_ID, "name": name, "kind": kind,
         "core_partner": True}
        for kind, (agency_id, name) in DEMO_AGENCIES.items()
    ]  # fmt: skip
    await conn.execute(insert(PartnerAgency).values(agencies).on_conflict_do_nothing())


async def _demo_app_key(conn: AsyncConnection, clients: list[dict[str, Any]]) -> str | None:
    """The key already in the file, if the database still knows it."""
    for entry in clients:
        key = entry.get("open311_api_key")
        if isinstance(key, str):
            known = await conn.scalar(
                select(Open311Client.id).where(Open311Client.api_key_sha256 == key_digest(key))
            )
            if known is not None:
                return key
    return None


async def seed(settings: Settings) -> None:
    path = settings.data_dir / "demo-clients.json"
    clients = read_clients(path)
    engine = make_engine(settings)
    new_key = None
    async with engine.begin() as conn:
        await _seed_area(conn)
        if await _demo_app_key(conn, clients) is None:
            key = secrets.token_urlsafe(24)
            council_id, _ = DEMO_AGENCIES["council"]
            await conn.execute(
                insert(Open311Client).values(
                    name=DEMO_APP_NAME,
                    api_key_sha256=key_digest(key),
                    area_id=DEMO_AREA_ID,
                    agency_id=council_id,
                )
            )
            new_key = key
    await engine.dispose()
    if new_key is not None:  # after the commit: the file never names an unknown key
        clients = [c for c in clients if "open311_api_key" not in c]
        clients.append(
            {
                "open311_api_key": new_key,
                "name": DEMO_APP_NAME,
                "jurisdiction_id": DEMO_AREA_CODE,
                "endpoint": "/open311/v2/",
            }
        )
        write_clients(path, clients)


if __name__ == "__main__":
    asyncio.run(seed(Settings()))
