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
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.devstack.seeds.review import demo_document
from casebridge.review.areas import ensure_config
from casebridge.review.main import create_app
from casebridge.review.models import PartnerAgency, ProtocolVersion
from casebridge.review.settings import Settings
from casebridge.testing.harness import ServiceUnderTest, rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

COUNCIL, _ = DEMO_AGENCIES["council"]
POLICE, _ = DEMO_AGENCIES["police"]
HOUSING, _ = DEMO_AGENCIES["housing"]
OTHER_AREA = UUID("0192f0a0-0000-7000-8000-00000000a999")
OTHER_AGENCY = UUID("0192f0a0-0000-7000-8000-00000000c999")
# An agency of the demo area that is not a core partner, nor on the case review panel.
HEALTH = UUID("0192f0a0-0000-7000-8000-00000000e001")
ALL_SCOPES = ["reviews:read", "reviews:write", "reviews:panel"]
ADMIN = "partnership_admin"  # changes the area's procedure


Review = ServiceUnderTest


@pytest.fixture(scope="session")
async def review_db(migrated_database: MigratedDatabase) -> str:
    return await migrated_database("review")


@pytest.fixture
def settings(review_db: str, nats_server: NatsServer) -> Settings:
    return Settings(
        database_url=review_db,
        nats_url=nats_server.url,
        log_json=False,
        protocol_cache_seconds=0,
        revocation_refresh_seconds=0,
    )


async def seed_registry(session: AsyncSession) -> None:
    """The demo area's partners and the default protocol, as review's replicas hold them."""
    agencies = [
        {"id": agency_id, "area_id": DEMO_AREA_ID, "name": name, "kind": kind,
         "core_partner": True}
        for kind, (agency_id, name) in DEMO_AGENCIES.items()
    ] + [
        {"id": HEALTH, "area_id": DEMO_AREA_ID, "name": "Demo ICB", "kind": "health",
         "core_partner": False},
        {"id": OTHER_AGENCY, "area_id": OTHER_AREA, "name": "Other Council", "kind": "council",
         "core_partner": True},
    ]  # fmt: skip
    await session.execute(insert(PartnerAgency).values(agencies).on_conflict_do_nothing())
    await session.execute(
        insert(ProtocolVersion)
        .values(area_id=DEMO_AREA_ID, version=1, document=default_protocol(), published_at=utcnow())
        .on_conflict_do_nothing()
    )


def default_protocol() -> dict[str, Any]:
    text = files("casebridge.common.isp").joinpath("default.yaml").read_text()
    return parse(text).model_dump(mode="json")


@pytest.fixture
async def review(settings: Settings, tokens: TokenFactory) -> AsyncIterator[Review]:
    """The API over a rolled-back transaction, with the demo area's procedure in force."""
    async with rollback_client(create_app, settings, tokens) as (client, sessions):
        async with sessions() as session:
            await ensure_config(
                session, area_id=DEMO_AREA_ID, document=demo_document(), author="test"
            )
            await seed_registry(session)
            await session.commit()
        yield ServiceUnderTest(
            client, sessions, tokens, settings, ALL_SCOPES, COUNCIL, DEMO_AREA_ID
        )
