"""Lists page newest first by keyset, the one way for every service: the page size a caller
may ask for, the opaque cursor (the last row's time and id) and the query that follows it.

A cursor is base64url of the JSON `[time, id]`; anything else is a 422 naming
`query.cursor`. Lists keyed by a time-ordered id alone (sharing's deliveries and
disclosures) page by that id (`page_by_id`), and their cursor is the id itself."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from casebridge.common.errors import AppError

T = TypeVar("T")

PageSize = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100)")]
CursorQuery = Annotated[
    str | None, Query(max_length=200, description="next_cursor of the last page")
]


class BadCursor(AppError):
    status_code = 422
    code = "validation_error"

    def __init__(self) -> None:
        super().__init__([{"field": "query.cursor", "reason": "is not a cursor from this list"}])


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the row with this time and id."""

    at: datetime
    id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor this service issued, or BadCursor (a 422)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            at, row_id = json.loads(raw)
            moment = datetime.fromisoformat(at)
            cursor = cls(moment, UUID(row_id))
        except (ValueError, TypeError) as exc:
            raise BadCursor from exc
        if moment.tzinfo is None:
            raise BadCursor
        return cursor


@dataclass
class Slice(Generic[T]):
    """A page of rows and the cursor of the next one; a route's `Page` reads it."""

    items: list[T]
    next_cursor: str | None


async def page_after(
    session: AsyncSession,
    query: Select[T],
    at: InstrumentedAttribute[Any],
    ident: InstrumentedAttribute[Any],
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[T], Cursor | None]:
    """Newest first by (time, id), after `cursor`; one row more than asked tells whether
    there is a next page (its cursor, else None)."""
    if cursor is not None:
        query = query.where(tuple_(at, ident) < tuple_(cursor.at, cursor.id))
    rows = list(await session.scalars(query.order_by(at.desc(), ident.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(getattr(last, at.key), getattr(last, ident.key))


async def page(
    session: AsyncSession,
    query: Select[T],
    at: InstrumentedAttribute[Any],
    ident: InstrumentedAttribute[Any],
    *,
    cursor: str | None,
    limit: int,
) -> Slice[T]:
    """`page_after`, from and to the cursor as the caller holds it (text)."""
    after = None if cursor is None else Cursor.decode(cursor)
    rows, following = await page_after(session, query, at, ident, after, limit)
    return Slice(rows, None if following is None else following.encode())


async def page_by_id(
    session: AsyncSession,
    query: Select[T],
    ident: InstrumentedAttribute[UUID],
    *,
    cursor: UUID | None,
    limit: int,
) -> Slice[T]:
    """Newest first by a time-ordered id; the cursor is the last id of the previous page."""
    if cursor is not None:
        query = query.where(ident < cursor)
    rows = list(await session.scalars(query.order_by(ident.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return Slice(rows, None)
    return Slice(rows[:limit], str(getattr(rows[limit - 1], ident.key)))
