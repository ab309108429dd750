from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.devstack.seeds.review import demo_document
from casebridge.review.areas import ensure_config
from casebridge.review.main import create_app
from casebridge.review.settings import Settings
from casebridge.testing.harness import ServiceUnderTest, rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

COUNCIL, _ = DEMO_AGENCIES["council"]
POLICE, _ = DEMO_AGENCIES["police"]
HOUSING, _ = DEMO_AGENCIES["housing"]
OTHER_AREA = UUID("0192f0a0-0000-7000-8000-00000000a999")
OTHER_AGENCY = UUID("0192f0a0-0000-7000-8000-00000000c999")
ALL_SCOPES = ["reviews:read", "reviews:write", "reviews:panel"]


Review = ServiceUnderTest


@pytest.fixture(scope="session")
async def review_db(migrated_database: MigratedDatabase) -> str:
    return await migrated_database("review")


@pytest.fixture
def settings(review_db: str, nats_server: NatsServer) -> Settings:
    return Settings(database_url=review_db, nats_url=nats_server.url, log_json=False)


@pytest.fixture
async def review(settings: Settings, tokens: TokenFactory) -> AsyncIterator[Review]:
    """The API over a rolled-back transaction, with the demo area's procedure in force."""
    async with rollback_client(create_app, settings, tokens) as (client, sessions):
        async with sessions() as session:
            await ensure_config(
                session, area_id=DEMO_AREA_ID, document=demo_document(), author="test"
            )
            await session.commit()
        yield ServiceUnderTest(
            client, sessions, tokens, settings, ALL_SCOPES, COUNCIL, DEMO_AREA_ID
        )
