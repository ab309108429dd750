from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest

from casebridge.stats.main import create_app
from casebridge.stats.routes.deps import today
from casebridge.stats.settings import Settings
from casebridge.testing.harness import ServiceUnderTest, rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

from .events import Deliverer

# The day the tests live on: financial year 2026-27, its third quarter.
TODAY = date(2026, 11, 29)


class Stats(ServiceUnderTest):
    deliver: Deliverer


@pytest.fixture(scope="session")
async def stats_db(migrated_database: MigratedDatabase) -> str:
    return await migrated_database("stats")


@pytest.fixture
async def stats(stats_db: str, tokens: TokenFactory) -> AsyncIterator[Stats]:
    settings = Settings(database_url=stats_db, log_json=False, area_names={"DMO": "Demo CSP"})
    async with rollback_client(create_app, settings, tokens) as (client, sessions):
        app = client._transport.app  # type: ignore[attr-defined]
        app.dependency_overrides[today] = lambda: TODAY
        under_test = Stats(
            client, sessions, tokens, settings, ["stats:read"], uuid.uuid4(), uuid.uuid4()
        )
        under_test.deliver = Deliverer(sessions)
        yield under_test
