"""Shared Alembic env.py body: each service's env.py calls `run_migrations(metadata, url)`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def _configure(
    connection: Connection | None, url: str | None, metadata: Sequence[MetaData]
) -> None:
    # Every service's database also holds the shared event tables.
    from casebridge.common.events.models import EventBase

    context.configure(
        connection=connection,
        url=url,
        target_metadata=[*metadata, EventBase.metadata],
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
        literal_binds=connection is None,
    )


def run_migrations(
    metadata: MetaData, default_url: str, *, shared: Sequence[MetaData] = ()
) -> None:
    """Run offline (SQL script) or online; the URL from `-x url=`, alembic.ini or settings.
    `shared` names other metadata whose tables the service's database holds too (the
    information-sharing replicas)."""
    everything = [metadata, *shared]
    config = context.config
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("url")
        or default_url
    )
    if context.is_offline_mode():
        _configure(None, url, everything)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection, everything)
        return
    asyncio.run(_run_async(url, everything))


def _run_sync(connection: Connection, metadata: Sequence[MetaData]) -> None:
    _configure(connection, None, metadata)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: Sequence[MetaData]) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync, metadata)
        await connection.commit()
    await engine.dispose()
