from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from casebridge.stats.main import create_app
from casebridge.stats.settings import Settings
from casebridge.testing.harness import ServiceUnderTest, rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

Stats = ServiceUnderTest


@pytest.fixture(scope="session")
async def stats_db(migrated_database: MigratedDatabase) -> str:
    return await migrated_database("stats")


@pytest.fixture
async def stats(stats_db: str, tokens: TokenFactory) -> AsyncIterator[Stats]:
    settings = Settings(database_url=stats_db, log_json=False)
    async with rollback_client(create_app, settings, tokens) as (client, sessions):
        yield ServiceUnderTest(
            client, sessions, tokens, settings, ["stats:read"], uuid.uuid4(), uuid.uuid4()
        )
