from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.testing.harness import rollback_client
from casebridge.common.testing.plugin import MigratedDatabase
from casebridge.common.testing.tokens import TokenFactory
from casebridge.stats.main import create_app
from casebridge.stats.settings import Settings


@dataclass
class Stats:
    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenFactory
    settings: Settings

    def auth(self, agency: UUID, area: UUID) -> dict[str, str]:
        return self.tokens.headers(
            scopes=["stats:read"],
            agency_id=agency,
            area_id=area,
            audience=self.settings.audience_or_default(),
        )


@pytest.fixture(scope="session")
async def stats_db(migrated_database: MigratedDatabase) -> str:
    return await migrated_database("stats")


@pytest.fixture
async def stats(stats_db: str, tokens: TokenFactory) -> AsyncIterator[Stats]:
    settings = Settings(database_url=stats_db, log_json=False)
    async with rollback_client(create_app, settings, tokens) as (client, sessions):
        yield Stats(client, sessions, tokens, settings)
