"""A batch's reads in one round trip. Each reader states its query as usual; `json_rows`
turns it into one JSON array of its rows (a scalar subquery) and `read_together` runs any
number of them as one SELECT. At a steady rate a batch is one or two events, and four reads
of one row each cost four round trips: most of the time a delivery took to be decided."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect, SelectBase

Rows = list[dict[str, Any]]


def json_rows(statement: SelectBase) -> ScalarSelect[Any]:
    """The statement's rows as one JSON array of objects keyed by its column names ([] when
    there are none). Values come back as JSON gives them: ids and times as text."""
    rows = statement.subquery()
    return (
        select(
            func.coalesce(
                func.json_agg(rows.table_valued()), literal_column("'[]'::json"), type_=JSON
            )
        )
        .select_from(rows)
        .scalar_subquery()
    )


async def read_together(session: AsyncSession, *reads: ScalarSelect[Any]) -> list[Rows]:
    """Each read's rows, all in one statement."""
    found = (await session.execute(select(*reads))).one()
    return [list(rows) for rows in found]


def uuid_of(value: str) -> UUID:
    return UUID(value)


def time_of(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None
