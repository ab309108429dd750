"""What every intake route shares: scopes, configuration, JSON responses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import BaseModel, BeforeValidator, TypeAdapter

from casebridge.common.auth import Principal, Scoped
from casebridge.common.isp import Viewer
from casebridge.common.isp.directory import Viewing
from casebridge.common.pagination import CursorQuery
from casebridge.common.pagination import PageSize as PageSize
from casebridge.common.wire import true_or_false
from casebridge.intake.areas import AreaDirectory

# Writes to the caller's own complaints need only who it is; every read of shared records
# (and every write that reads them first) goes through the caller's Viewer: the
# information-sharing protocol decides what it sees.
# Roles (docs/roles.md): call handlers and case officers record; the SPOC and the panel read
# what a case review relies on; merging and correcting people is a case officer's.
RECORDERS = ("call_handler", "case_officer")
READERS = ("call_handler", "case_officer", "spoc", "panel_member")
CanWriteComplaints = Annotated[Principal, Scoped("complaints:write", role=RECORDERS)]
CanReadQuestions = Annotated[Principal, Scoped("complaints:read", role=RECORDERS)]
ReadsComplaints = Annotated[Viewer, Viewing("complaints:read", role=READERS)]
WritesComplaints = Annotated[Viewer, Viewing("complaints:write", role=RECORDERS)]
ReadsPeople = Annotated[Viewer, Viewing("people:read", role=READERS)]
WritesPeople = Annotated[Viewer, Viewing("people:write", role="case_officer")]

# A yes/no filter in a query string: the words true and false only (issue 8: strict inputs).
QueryFlag = Annotated[bool, BeforeValidator(true_or_false)]

# Lists page the one way every service does (casebridge.common.pagination).
Cursor = CursorQuery


async def _areas(request: Request) -> AreaDirectory:
    areas: AreaDirectory = request.app.state.areas
    return areas


Areas = Annotated[AreaDirectory, Depends(_areas)]
# A route that reads the caller's area answers 409 when intake does not serve it.
AREA_NOT_CONFIGURED: dict[int | str, Any] = {
    409: {"description": "The caller's area is not configured in intake"}
}


def json_response(model: BaseModel | list[Any], status_code: int = 200) -> Response:
    # exclude_unset: a field the protocol does not grant is absent, not null.
    if isinstance(model, BaseModel):
        body = model.model_dump_json(exclude_unset=True)
    else:
        body = TypeAdapter(list[Any]).dump_json(model, exclude_unset=True).decode()
    return Response(content=body, status_code=status_code, media_type="application/json")


def caller(principal: Principal) -> str:
    """Idempotency keys are scoped to the calling client of one agency."""
    return f"{principal.agency_id}:{principal.client_id}"
