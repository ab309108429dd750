"""The app's frame: every route declares scopes or is public on purpose; the seed."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from casebridge.common.app import PUBLIC_PATHS as COMMON_PUBLIC
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.devstack.seeds.intake import seed
from casebridge.intake.main import create_app
from casebridge.intake.models import Open311Client
from casebridge.intake.open311 import PUBLIC_PATHS
from casebridge.intake.open311.service import key_digest
from casebridge.intake.settings import Settings
from casebridge.testing.plugin import MigratedDatabase

from .conftest import COUNCIL, Intake


def test_every_route_declares_scopes_or_is_public_on_purpose() -> None:
    """AUTH-R5 / API5: Open311 routes authenticate by api_key and are listed explicitly."""
    spec = create_app().openapi()
    unscoped = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            scoped = any(req.get("casebridge") for req in operation.get("security", []))
            if not scoped and path not in COMMON_PUBLIC | PUBLIC_PATHS:
                unscoped.append(f"{method.upper()} {path}")
    assert unscoped == []
    assert set(spec["paths"]) >= PUBLIC_PATHS


async def test_no_token_and_wrong_audience_are_401(intake: Intake) -> None:
    assert (await intake.client.get("/complaints")).status_code == 401
    wrong = intake.tokens.headers(
        scopes=["complaints:read"], agency_id=COUNCIL, area_id=DEMO_AREA_ID,
        audience="urn:casebridge:stats",
    )  # fmt: skip
    assert (await intake.client.get("/complaints", headers=wrong)).status_code == 401
    expired = intake.auth(lifetime=-120)
    assert (await intake.client.get("/complaints", headers=expired)).status_code == 401


async def test_seed_adds_demo_app_and_keeps_other_entries(
    migrated_database: MigratedDatabase, tmp_path: Path
) -> None:
    url = await migrated_database("intake")
    clients = tmp_path / "demo-clients.json"
    clients.write_text(json.dumps([{"client_id": "sharing-demo", "client_secret": "s"}]))
    settings = Settings(database_url=url, data_dir=tmp_path)
    await seed(settings)
    await seed(settings)  # idempotent: the same key, no second app
    entries = json.loads(clients.read_text())
    assert entries[0] == {"client_id": "sharing-demo", "client_secret": "s"}
    (app,) = [e for e in entries if "open311_api_key" in e]
    assert app["name"]
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        digests = list(await conn.scalars(select(Open311Client.api_key_sha256)))
    await engine.dispose()
    assert digests == [key_digest(app["open311_api_key"])]
