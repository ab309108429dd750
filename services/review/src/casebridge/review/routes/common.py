"""What every review router shares: scopes, and reading a cursor from the query."""

from __future__ import annotations

from typing import Annotated

from casebridge.common.auth import AnyRole, Principal, Scoped
from casebridge.common.isp import Viewer
from casebridge.common.isp.directory import Viewing
from casebridge.common.pagination import Cursor

# The area's own procedure: any agency of the area reads it; the partnership administrator
# changes it.
CanRead = Annotated[
    Principal, Scoped("reviews:read", role=AnyRole("every role of the area works under it"))
]
CanAdminister = Annotated[Principal, Scoped("reviews:write", role="partnership_admin")]
# Reviews and triggers: the information-sharing protocol decides what the caller sees of
# them, and a review the caller may not see cannot be acted on either (it does not exist).
Reads = Annotated[Viewer, Viewing("reviews:read", role=("case_officer", "spoc", "panel_member"))]
# Any agency receives an application (and explains the review at a second report)...
Writes = Annotated[Viewer, Viewing("reviews:write", role=("case_officer", "spoc"))]
# ...the SPOC runs it (its agency must be the one the area's procedure names:
# workflow.require_spoc), and the panel's members vote (their agency on the panel).
SpocSteps = Annotated[Viewer, Viewing("reviews:write", role="spoc")]
Votes = Annotated[Viewer, Viewing("reviews:panel", role="panel_member")]


def parse_cursor(token: str | None) -> Cursor | None:
    """The list's cursor (casebridge.common.pagination), or a 422 naming query.cursor."""
    return None if token is None else Cursor.decode(token)
