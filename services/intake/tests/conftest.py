from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.db import utcnow
from casebridge.common.isp import parse
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.intake.main import create_app
from casebridge.intake.models import Area, Open311Client, PartnerAgency, ProtocolVersion
from casebridge.intake.open311.service import key_digest
from casebridge.intake.settings import Settings
from casebridge.testing.harness import ServiceUnderTest, rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

COUNCIL, _ = DEMO_AGENCIES["council"]
POLICE, _ = DEMO_AGENCIES["police"]
HOUSING, _ = DEMO_AGENCIES["housing"]
# An agency of the demo area that is not a core partner, and another area with its council.
HEALTH = UUID("0192f0a0-0000-7000-8000-00000000e001")
OTHER_AREA = UUID("0192f0a0-0000-7000-8000-00000000a002")
OTHER_COUNCIL = UUID("0192f0a0-0000-7000-8000-00000000c002")
ALL_SCOPES = ["complaints:write", "complaints:read", "people:read", "people:write"]


Intake = ServiceUnderTest


@pytest.fixture(scope="session")
async def intake_db(migrated_database: MigratedDatabase) -> str:
    return await migrated_database("intake")


@pytest.fixture
async def intake(
    intake_db: str, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[Intake]:
    settings = Settings(
        database_url=intake_db,
        nats_url=nats_server.url,
        log_json=False,
        protocol_cache_seconds=0,
        revocation_refresh_seconds=0,
    )
    async with rollback_client(create_app, settings, tokens) as (client, sessions):
        async with sessions() as session:
            await seed_areas(session)
            await session.commit()
        yield ServiceUnderTest(
            client, sessions, tokens, settings, ALL_SCOPES, COUNCIL, DEMO_AREA_ID
        )


async def seed_areas(session: AsyncSession) -> None:
    areas = [
        {"id": DEMO_AREA_ID, "code": DEMO_AREA_CODE, "name": DEMO_AREA_NAME},
        {"id": OTHER_AREA, "code": "OTH", "name": "Other Community Safety Partnership"},
    ]
    await session.execute(insert(Area).values(areas).on_conflict_do_nothing())
    agencies = [
        {"id": agency_id, "area_id": DEMO_AREA_ID, "name": name, "kind": kind,
         "core_partner": True}
        for kind, (agency_id, name) in DEMO_AGENCIES.items()
    ] + [
        {"id": HEALTH, "area_id": DEMO_AREA_ID, "name": "Demo ICB", "kind": "health",
         "core_partner": False},
        {"id": OTHER_COUNCIL, "area_id": OTHER_AREA, "name": "Other Council", "kind": "council",
         "core_partner": True},
    ]  # fmt: skip
    await session.execute(insert(PartnerAgency).values(agencies).on_conflict_do_nothing())
    await session.execute(
        insert(ProtocolVersion)
        .values(area_id=DEMO_AREA_ID, version=1, document=default_protocol(), published_at=utcnow())
        .on_conflict_do_nothing()
    )


def default_protocol() -> dict[str, Any]:
    """The shipped default protocol, as sharing publishes it (validated, as JSON)."""
    text = files("casebridge.common.isp").joinpath("default.yaml").read_text()
    return parse(text).model_dump(mode="json")


OPEN311_KEY = "test-reporting-app-key"


@pytest.fixture
async def app_key(intake: Intake) -> str:
    """A reporting app of the council, with this api_key."""
    async with intake.sessions() as session:
        session.add(
            Open311Client(
                name="Test app", api_key_sha256=key_digest(OPEN311_KEY), area_id=DEMO_AREA_ID,
                agency_id=COUNCIL,
            )
        )  # fmt: skip
        await session.commit()
    return OPEN311_KEY
