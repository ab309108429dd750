from __future__ import annotations

import json
import stat
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.common.auth import ROLES
from casebridge.common.events.models import OutboxMessage
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.devstack.seeds.sharing import (
    DEMO_CLIENTS,
    DEMO_CLIENTS_FILE,
    credentials_table,
    seed,
)
from casebridge.sharing.credentials import verify_secret
from casebridge.sharing.main import create_app
from casebridge.sharing.models import Agency, Area, OAuthClient, PublishedProtocol
from casebridge.sharing.settings import Settings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase

from .conftest import as_app_role

OPEN311_ENTRY = {"open311_api_key": "k-123", "agency_id": "x", "name": "FixMyStreet"}


@pytest.fixture
async def seeded_settings(migrated_database: MigratedDatabase, settings: Settings) -> Settings:
    """A fresh, committed database (the seed commits) and an empty data directory."""
    url = await migrated_database("sharing")
    return settings.model_copy(
        update={"database_url": as_app_role(url), "migration_database_url": url}
    )


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def entries(settings: Settings) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((settings.data_dir / DEMO_CLIENTS_FILE).read_text())
    return data


async def hashes(settings: Settings) -> dict[str, str]:
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OAuthClient.client_id, OAuthClient.secret_hash))).all()
        counts = [
            await conn.scalar(select(func.count()).select_from(model))
            for model in (Area, Agency, OAuthClient)
        ]
    await engine.dispose()
    assert counts == [1, 3, len(DEMO_CLIENTS)]
    return {str(client_id): str(secret_hash) for client_id, secret_hash in rows}


async def test_seed_creates_demo_partners_and_credentials(seeded_settings: Settings) -> None:
    ours = await seed(seeded_settings)
    assert file_mode(seeded_settings.data_dir / DEMO_CLIENTS_FILE) == 0o600
    assert entries(seeded_settings) == ours
    stored = await hashes(seeded_settings)
    by_kind = {e["client_id"].removeprefix("demo-"): e for e in ours}
    assert set(DEMO_AGENCIES) <= set(by_kind)
    for kind in DEMO_AGENCIES:
        entry = by_kind[kind]
        assert entry["agency_id"] == str(DEMO_AGENCIES[kind][0])
        assert entry["agency_name"] == DEMO_AGENCIES[kind][1]
    for entry in ours:
        assert entry["area_id"] == str(DEMO_AREA_ID)
        assert entry["use_for"]
        assert verify_secret(stored[entry["client_id"]], entry["client_secret"])
        assert entry["client_secret"] not in stored[entry["client_id"]]
    assert "reviews:panel" in by_kind["housing"]["scopes"]
    assert not any("shares:admin" in by_kind[kind]["scopes"] for kind in DEMO_AGENCIES)
    assert "demo-council" in credentials_table(ours)


async def test_seed_registers_and_announces_the_demo_partnership(seeded_settings: Settings) -> None:
    await seed(seeded_settings)
    await seed(seeded_settings)  # again: nothing new to announce
    engine = create_async_engine(seeded_settings.database_url, poolclass=NullPool)
    async with engine.connect() as conn:
        announced = (
            (
                await conn.execute(
                    select(OutboxMessage.event_type).order_by(OutboxMessage.created_at)
                )
            )
            .scalars()
            .all()
        )
        agencies = (await conn.execute(select(Agency.kind, Agency.core_partner))).all()
        version = (
            await conn.execute(select(PublishedProtocol.version, PublishedProtocol.document))
        ).one()
    await engine.dispose()
    assert sorted(announced) == sorted(
        ["registry.area.registered.v1", "registry.protocol.published.v1"]
        + ["registry.agency.changed.v1"] * 3
    )
    assert sorted(agencies) == [("council", True), ("housing", True), ("police", True)]
    assert version.version == 1
    review = date.fromisoformat(version.document["review_date"])
    assert review - date.today() >= timedelta(days=364)  # the demo keeps sharing for a year


async def test_demo_clients_hold_their_counterparts_roles(seeded_settings: Settings) -> None:
    """Issue 15.5: every operation can be tried from `make run`: the council's system is the
    area's SPOC and may merge two logs, an administrator and each agency's DPO have their own
    client, and every role is someone's."""
    by_id = {e["client_id"]: e for e in await seed(seeded_settings)}
    council = by_id["demo-council"]
    assert {"spoc", "case_officer", "call_handler", "panel_member"} <= set(council["roles"])
    assert "people:write" in council["scopes"]
    assert "spoc" not in by_id["demo-police"]["roles"]  # the council is the demo area's SPOC
    assert by_id["demo-admin"]["roles"] == ["partnership_admin"]
    assert {"shares:admin", "reviews:write"} <= set(by_id["demo-admin"]["scopes"])
    for kind in DEMO_AGENCIES:
        dpo = by_id[f"demo-{kind}-dpo"]
        assert dpo["roles"] == ["dpo"]
        assert "audit:read" in dpo["scopes"]
        assert dpo["agency_id"] == str(DEMO_AGENCIES[kind][0])
    assert {r for e in by_id.values() for r in e["roles"]} == set(ROLES)
    assert all(set(e["roles"]) <= set(ROLES) for e in by_id.values())


async def test_seed_is_idempotent_and_keeps_secrets(seeded_settings: Settings) -> None:
    first = await seed(seeded_settings)
    stored = await hashes(seeded_settings)
    second = await seed(seeded_settings)
    assert second == first
    assert await hashes(seeded_settings) == stored  # no rotation when the file has the secret


async def test_seed_merges_with_other_entries(seeded_settings: Settings) -> None:
    path = seeded_settings.data_dir / DEMO_CLIENTS_FILE
    path.write_text(json.dumps([OPEN311_ENTRY]))
    ours = await seed(seeded_settings)
    assert entries(seeded_settings) == [OPEN311_ENTRY, *ours]
    await seed(seeded_settings)
    assert entries(seeded_settings) == [OPEN311_ENTRY, *ours]


async def test_seed_rotates_a_secret_the_file_lost(seeded_settings: Settings) -> None:
    first = {e["client_id"]: e["client_secret"] for e in await seed(seeded_settings)}
    path = seeded_settings.data_dir / DEMO_CLIENTS_FILE
    path.write_text(
        json.dumps([e for e in entries(seeded_settings) if e["client_id"] != "demo-police"])
    )
    second = {e["client_id"]: e["client_secret"] for e in await seed(seeded_settings)}
    assert second["demo-council"] == first["demo-council"]
    assert second["demo-police"] != first["demo-police"]
    stored = await hashes(seeded_settings)
    assert verify_secret(stored["demo-police"], second["demo-police"])
    assert not verify_secret(stored["demo-police"], first["demo-police"])
    assert {e["client_id"] for e in entries(seeded_settings)} == set(second)


async def test_seed_refuses_a_file_it_cannot_merge(seeded_settings: Settings) -> None:
    path = seeded_settings.data_dir / DEMO_CLIENTS_FILE
    path.write_text('{"not": "a list"}')
    with pytest.raises(SystemExit):
        await seed(seeded_settings)
    assert path.read_text() == '{"not": "a list"}'


async def test_seeded_client_gets_a_token(seeded_settings: Settings) -> None:
    (council, *_) = await seed(seeded_settings)
    async with committed_client(create_app, seeded_settings) as client:
        response = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "shares:read"},
            auth=(council["client_id"], council["client_secret"]),
        )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "shares:read"
