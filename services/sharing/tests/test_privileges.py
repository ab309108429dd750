"""The disclosure log and the protocol and invitation history are append-only by the
database's privileges (LEG-R3), not only by a trigger: the role the API and the worker
connect as may read and add rows, never change or remove one. Every table the service has
is granted to that role, so a new table cannot be forgotten."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.sharing.models import APPEND_ONLY_TABLES, Base
from casebridge.sharing.settings import Settings

from .conftest import Sharing, complaint_logged
from .test_handlers import apply

CHANGES = {
    "disclosure": ("UPDATE disclosure SET outcome = 'refused'", "DELETE FROM disclosure"),
    "protocol_version": ("UPDATE protocol_version SET diff = ''", "DELETE FROM protocol_version"),
    "invitation_change": (
        "UPDATE invitation_change SET invited = false",
        "DELETE FROM invitation_change",
    ),
}

A, B = "0192f0a0-0000-7000-8000-0000000aa001", "0192f0a0-0000-7000-8000-0000000bb001"
ONE_ROW_EACH = (
    f"INSERT INTO area (id, code, name) VALUES ('{A}', 'PRV', 'p')",
    f"INSERT INTO agency (id, area_id, name, kind) VALUES ('{B}', '{A}', 'p', 'police')",
    "INSERT INTO disclosure (id, source_event_id, source_event_type, area_id,"
    " recipient_agency_id, fields, outcome, occurred_at)"
    f" VALUES ('{A}', '{A}', 't', '{A}', '{B}', '{{}}', 'refused', now())",
    "INSERT INTO protocol_version (area_id, version, document, text, diff, published_at,"
    " published_by_client, published_by_subject)"
    f" VALUES ('{A}', 1, '{{}}', '', '', now(), 'c', 's')",
    "INSERT INTO invitation_change (id, case_reference, area_id, agency_id, invited, reason,"
    " changed_by_client, changed_by_subject, changed_at)"
    f" VALUES ('{A}', 'R', '{A}', '{B}', true, 'r', 'c', 's', now())",
)


@pytest.fixture
async def as_app(settings: Settings) -> AsyncIterator[AsyncConnection]:
    """A connection as the service's own role, rolled back after the test."""
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        assert await conn.scalar(text("SELECT current_user")) == settings.app_role
        yield conn
        await transaction.rollback()
    await engine.dispose()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
async def test_the_app_role_cannot_change_or_remove_history(
    as_app: AsyncConnection, table: str
) -> None:
    for statement in (*CHANGES[table], f"TRUNCATE {table}"):
        with pytest.raises(DBAPIError, match=f"permission denied for table {table}"):
            async with as_app.begin_nested():
                await as_app.execute(text(statement))


async def test_a_disclosure_written_as_the_app_role_cannot_be_changed(sharing: Sharing) -> None:
    """The worker's own connection writes the row, and the same role cannot alter it."""
    envelope, event = complaint_logged()
    assert await apply(sharing, envelope, event)
    async with sharing.sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM disclosure")) == 2
        for statement in CHANGES["disclosure"]:
            with pytest.raises(DBAPIError, match="permission denied"):
                async with session.begin_nested():
                    await session.execute(text(statement))


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
async def test_even_the_owner_is_stopped_by_the_trigger(settings: Settings, table: str) -> None:
    """Defence in depth: a migration or an operator connected as the owner meets the
    trigger (the privileges above are the guarantee)."""
    assert settings.migration_database_url is not None
    engine = create_async_engine(settings.migration_database_url, poolclass=NullPool)
    async with engine.connect() as conn:
        for statement in ONE_ROW_EACH:  # row triggers fire only for rows
            await conn.execute(text(statement))
        for statement in (*CHANGES[table], f"TRUNCATE {table} CASCADE"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with conn.begin_nested():
                    await conn.execute(text(statement))
        await conn.rollback()
    await engine.dispose()


async def test_every_table_is_granted_to_the_app_role(as_app: AsyncConnection) -> None:
    rows = await as_app.execute(
        text(
            "SELECT table_name, array_agg(privilege_type::text ORDER BY privilege_type)"
            " FROM information_schema.role_table_grants"
            " WHERE grantee = current_user AND table_schema = 'public' GROUP BY table_name"
        )
    )
    granted = {name: set(privileges) for name, privileges in rows}
    tables = set(Base.metadata.tables) | {"outbox_message", "processed_message", "dead_letter"}
    assert set(granted) == tables, "every table, and no other (alembic_version stays private)"
    for table in tables:
        expected = {"SELECT", "INSERT"}
        if table not in APPEND_ONLY_TABLES:
            expected |= {"UPDATE", "DELETE"}
        assert granted[table] == expected, table
