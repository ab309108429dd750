"""The area's information-sharing protocol: published by its partnership administrator,
read by every agency of the area (as JSON, or as the canonical YAML with Accept)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from casebridge.common.app import PROTOCOL_HEADER
from casebridge.common.auth import AnyRole, Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.common.isp.directory import today
from casebridge.common.schemas import Limit
from casebridge.sharing import protocol
from casebridge.sharing.errors import UnsupportedMediaType
from casebridge.sharing.models import PublishedProtocol
from casebridge.sharing.schemas import (
    ProtocolVersionPage,
    ProtocolVersionRead,
    ProtocolVersionSummary,
)

router = APIRouter(tags=["protocol"])

CanPublish = Annotated[Principal, Scoped("shares:admin", role="partnership_admin")]
# Every agency of the area works under the protocol, and it names no person.
CanRead = Annotated[
    Principal, Scoped("shares:read", role=AnyRole("the area's protocol binds every role of it"))
]
YAML = "application/yaml"
_DOCUMENT = {"type": "object", "description": "a casebridge-isp/1 document"}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            **{t: {"schema": {"type": "string"}} for t in protocol.YAML_TYPES},
            "application/json": {"schema": _DOCUMENT},
        },
    }
}
_AS_YAML: dict[int | str, dict[str, Any]] = {
    200: {"content": {YAML: {"schema": {"type": "string"}}}, "description": "JSON or YAML"},
    404: {"description": "no protocol published (or not the caller's area)"},
}


def _wants_yaml(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return any(t in accept for t in protocol.YAML_TYPES) and "application/json" not in accept


def _yaml(row: PublishedProtocol) -> Response:
    return Response(row.text, media_type=YAML, headers={PROTOCOL_HEADER: str(row.version)})


@router.put(
    "/areas/{area_id}/protocol",
    status_code=201,
    response_model=ProtocolVersionRead,
    openapi_extra=_BODY,
    responses={
        200: {"description": "the document is the version in force already: nothing changed"},
        404: {"description": "not the caller's area"},
        415: {"description": "send YAML (application/yaml, text/yaml) or JSON"},
        422: {"description": "invalid: every problem, with its path in `field`"},
    },
)
async def publish(
    area_id: UUID, request: Request, response: Response, session: DbSession, who: CanPublish
) -> PublishedProtocol:
    """Publish a new version of the area's protocol (YAML or JSON). An invalid document
    changes nothing; a valid one is version n+1 for every later decision."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in (*protocol.YAML_TYPES, *protocol.JSON_TYPES):
        raise UnsupportedMediaType("send the protocol as application/yaml, text/yaml or JSON")
    row, created = await protocol.publish(
        session,
        principal=who,
        area_id=area_id,
        body=await request.body(),
        media_type=media_type,
        today=today(),
    )
    response.status_code = 201 if created else 200
    return row


@router.get("/areas/{area_id}/protocol", response_model=ProtocolVersionRead, responses=_AS_YAML)
async def read_current(area_id: UUID, request: Request, session: DbSession, who: CanRead) -> Any:
    """The protocol in force in the caller's area."""
    row = await protocol.current(session, principal=who, area_id=area_id)
    return _yaml(row) if _wants_yaml(request) else row


@router.get("/areas/{area_id}/protocol/versions", response_model=ProtocolVersionPage)
async def list_versions(
    area_id: UUID,
    session: DbSession,
    who: CanRead,
    limit: Limit = 50,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> ProtocolVersionPage:
    """Every version, newest first, with who published it and when."""
    rows, next_version = await protocol.list_versions(
        session, principal=who, area_id=area_id, limit=limit, before=cursor
    )
    items: Sequence[ProtocolVersionSummary] = [
        ProtocolVersionSummary.model_validate(row) for row in rows
    ]
    return ProtocolVersionPage(
        items=list(items), next_cursor=None if next_version is None else str(next_version)
    )


@router.get(
    "/areas/{area_id}/protocol/versions/{version}",
    response_model=ProtocolVersionRead,
    responses=_AS_YAML,
)
async def read_version(
    area_id: UUID,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    session: DbSession,
    who: CanRead,
) -> Any:
    """One version: the document, the canonical text and the diff from the one before."""
    row = await protocol.get_version(session, principal=who, area_id=area_id, number=version)
    return _yaml(row) if _wants_yaml(request) else row
