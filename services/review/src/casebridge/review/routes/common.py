"""What every review router shares: scopes, and reading a cursor from the query."""

from __future__ import annotations

from typing import Annotated

from casebridge.common.auth import Principal, Scoped
from casebridge.common.isp import Viewer
from casebridge.common.isp.directory import Viewing
from casebridge.common.pagination import Cursor

# The area's own procedure: any agency of the area reads it, by scope.
CanRead = Annotated[Principal, Scoped("reviews:read")]
CanWrite = Annotated[Principal, Scoped("reviews:write")]
# Reviews and triggers: the information-sharing protocol decides what the caller sees of
# them, and a review the caller may not see cannot be acted on either (it does not exist).
Reads = Annotated[Viewer, Viewing("reviews:read")]
Writes = Annotated[Viewer, Viewing("reviews:write")]
Votes = Annotated[Viewer, Viewing("reviews:panel")]


def parse_cursor(token: str | None) -> Cursor | None:
    """The list's cursor (casebridge.common.pagination), or a 422 naming query.cursor."""
    return None if token is None else Cursor.decode(token)
