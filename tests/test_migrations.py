"""Every service's migrations match its models (`alembic check`: no drift) and every
revision has a working downgrade: head -> base -> head on a real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command

from casebridge.common.testing.harness import alembic_config, downgrade, migrate
from casebridge.common.testing.plugin import MigratedDatabase


@pytest.mark.parametrize("service", ["intake", "sharing", "review", "stats"])
async def test_migrations_match_the_models_and_go_down_and_up(
    service: str, migrated_database: MigratedDatabase
) -> None:
    url = await migrated_database(service)
    await asyncio.to_thread(command.check, alembic_config(service, url))
    await downgrade(service, url, "base")
    await migrate(service, url)
    await asyncio.to_thread(command.check, alembic_config(service, url))
