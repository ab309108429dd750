"""What every review router shares: scopes, and reading a cursor from the query."""

from __future__ import annotations

from typing import Annotated

from fastapi.exceptions import RequestValidationError

from casebridge.common.auth import Principal, Scoped
from casebridge.review.pagination import Cursor

CanRead = Annotated[Principal, Scoped("reviews:read")]
CanWrite = Annotated[Principal, Scoped("reviews:write")]
CanVote = Annotated[Principal, Scoped("reviews:panel")]


def parse_cursor(token: str | None) -> Cursor | None:
    if token is None:
        return None
    try:
        return Cursor.decode(token)
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("query", "cursor"), "msg": "not a cursor this service issued"}]
        ) from exc
