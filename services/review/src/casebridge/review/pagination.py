"""Keyset pagination: an opaque cursor holding the last row's (timestamp, id)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    at: datetime
    id: UUID

    def encode(self) -> str:
        raw = f"{self.at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Raises ValueError on anything that is not a cursor this service issued."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            at, ident = raw.split("|")
            moment = datetime.fromisoformat(at)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError("not a valid cursor") from exc
        if moment.tzinfo is None:
            raise ValueError("not a valid cursor")
        return cls(moment, UUID(ident))


async def page_after(
    session: AsyncSession,
    query: Select[T],
    at: InstrumentedAttribute[Any],
    ident: InstrumentedAttribute[Any],
    cursor: Cursor | None,
    limit: int,
) -> tuple[list[T], Cursor | None]:
    """Newest first; one row more than asked tells whether there is a next page."""
    if cursor is not None:
        query = query.where(tuple_(at, ident) < tuple_(cursor.at, cursor.id))
    rows = list(await session.scalars(query.order_by(at.desc(), ident.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(getattr(last, at.key), getattr(last, ident.key))
