"""The disclosure audit for data protection officers (scope audit:read, role dpo): JSON
pages, or the whole selection as a streamed CSV (`Accept: text/csv` or `?format=csv`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BeforeValidator

from casebridge.common.auth import Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.common.schemas import Limit
from casebridge.sharing import audit
from casebridge.sharing.errors import Unprocessable
from casebridge.sharing.models import Disclosure
from casebridge.sharing.schemas import AuditPage
from casebridge.sharing.service import Slice

router = APIRouter(tags=["audit"])

CanAudit = Annotated[Principal, Scoped("audit:read", role="dpo")]
CSV = "text/csv"


def _not_a_number(value: Any) -> Any:
    """A time is written as one (ISO 8601 with its offset), never as seconds since 1970."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("a date-time with its time zone, e.g. 2026-11-29T09:00:00Z")
    return value


Time = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
ReferenceQuery = Annotated[
    str | None, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$", description="case reference")
]


def _wanted(
    person_id: UUID | None = None,
    reference: ReferenceQuery = None,
    recipient_agency_id: UUID | None = None,
    occurred_from: Annotated[
        Time | None, Query(alias="from", description="from this time (inclusive)")
    ] = None,
    occurred_to: Annotated[
        Time | None, Query(alias="to", description="until this time (exclusive)")
    ] = None,
) -> audit.AuditFilter:
    if occurred_from and occurred_to and occurred_from >= occurred_to:
        raise Unprocessable("query.to", "must be later than from")
    return audit.AuditFilter(person_id, reference, recipient_agency_id, occurred_from, occurred_to)


Wanted = Annotated[audit.AuditFilter, Depends(_wanted)]
Format = Annotated[Literal["json", "csv"] | None, Query(description="csv, or send Accept")]


@router.get(
    "/audit/disclosures",
    response_model=AuditPage,
    responses={
        200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON or CSV"},
        403: {"description": "not a DPO (role dpo with scope audit:read)"},
    },
)
async def audit_disclosures(
    request: Request,
    session: DbSession,
    who: CanAudit,
    wanted: Wanted,
    limit: Limit = 50,
    cursor: UUID | None = None,
    format: Format = None,
) -> Any:
    """Disclosures of the records the caller's agency controls and disclosures made to it,
    newest first: by person, case reference, recipient and period."""
    if format == "csv" or (format is None and CSV in request.headers.get("accept", "")):
        rows = audit.export_csv(request.app.state.sessionmaker, principal=who, wanted=wanted)
        headers = {"Content-Disposition": 'attachment; filename="disclosures.csv"'}
        return StreamingResponse(rows, media_type=f"{CSV}; charset=utf-8", headers=headers)
    found: Slice[Disclosure] = await audit.list_disclosures(
        session, principal=who, wanted=wanted, limit=limit, cursor=cursor
    )
    return found
