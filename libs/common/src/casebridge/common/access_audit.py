"""Who looked at our records: a data protection officer lists the access records of the
records its agency controls (it recorded them), in its own area, by record, reader and
period; page by page (JSON) or as one streamed CSV. Each service mounts it as
`GET /audit/access` with its own read scope and the dpo role."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, Row, Select, Table, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.auth import Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.common.schemas import Limit, Page, Schema
from casebridge.common.wire import Timestamp

log = logging.getLogger(__name__)

CSV = "text/csv"
EXPORT_CHUNK = 500
COLUMNS = (
    "id", "occurred_at", "agency_id", "client_id", "user_id", "record_type", "record_id",
    "fields", "purpose", "route",
)  # fmt: skip
# A spreadsheet runs a cell that begins with one of these (CSV injection): quote it.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

# Records an agency controls beyond those naming it (e.g. a complaint log: the agencies
# that recorded complaints on it), as a condition on the access_record table.
Controlled = Callable[[UUID], ColumnElement[bool]]


class AccessRecordRead(Schema):
    id: UUID
    occurred_at: datetime
    agency_id: UUID
    client_id: str
    user_id: str
    record_type: str
    record_id: UUID
    controller_agency_ids: list[UUID]
    fields: list[str]
    purpose: str | None = None
    route: str


AccessPage = Page[AccessRecordRead]


@dataclass(frozen=True)
class AccessFilter:
    record_id: UUID | None = None
    record_type: str | None = None
    user_id: str | None = None
    agency_id: UUID | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


def _wanted(
    record_id: UUID | None = None,
    record_type: Annotated[
        str | None, Query(pattern=r"^[a-z_]{1,30}$", description="complaint, person, review...")
    ] = None,
    user_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    agency_id: Annotated[UUID | None, Query(description="the reader's agency")] = None,
    occurred_from: Annotated[
        Timestamp | None, Query(alias="from", description="from this time (inclusive)")
    ] = None,
    occurred_to: Annotated[
        Timestamp | None, Query(alias="to", description="until this time (exclusive)")
    ] = None,
) -> AccessFilter:
    if occurred_from and occurred_to and occurred_from >= occurred_to:
        raise RequestValidationError(
            [{"loc": ("query", "to"), "msg": "must be later than from", "type": "value_error"}]
        )
    return AccessFilter(record_id, record_type, user_id, agency_id, occurred_from, occurred_to)


Wanted = Annotated[AccessFilter, Depends(_wanted)]
Format = Annotated[Literal["json", "csv"] | None, Query(description="csv, or send Accept")]


def audited_access(
    table: Table, principal: Principal, controlled: Controlled | None = None
) -> Select[Any]:
    """What a DPO may audit: the reads of records its agency controls, in its area."""
    c = table.c
    owns: ColumnElement[bool] = c.controller_agency_ids.contains([principal.agency_id])
    if controlled is not None:
        owns = or_(owns, controlled(principal.agency_id))
    return select(table).where(c.area_id == principal.area_id, owns)


def _filtered(
    table: Table, principal: Principal, wanted: AccessFilter, controlled: Controlled | None
) -> Select[Any]:
    c = table.c
    statement = audited_access(table, principal, controlled)
    if wanted.record_id is not None:
        statement = statement.where(c.record_id == wanted.record_id)
    if wanted.record_type is not None:
        statement = statement.where(c.record_type == wanted.record_type)
    if wanted.user_id is not None:
        statement = statement.where(c.user_id == wanted.user_id)
    if wanted.agency_id is not None:
        statement = statement.where(c.agency_id == wanted.agency_id)
    if wanted.occurred_from is not None:
        statement = statement.where(c.occurred_at >= wanted.occurred_from)
    if wanted.occurred_to is not None:
        statement = statement.where(c.occurred_at < wanted.occurred_to)
    return statement


async def list_access(
    session: AsyncSession,
    table: Table,
    *,
    principal: Principal,
    wanted: AccessFilter,
    controlled: Controlled | None,
    limit: int,
    cursor: UUID | None,
) -> AccessPage:
    """Newest first by time-ordered id; the cursor is the last id of the previous page."""
    log.info("access audit read by %s (%s): %s", principal.client_id, principal.subject, wanted)
    statement = _filtered(table, principal, wanted, controlled)
    if cursor is not None:
        statement = statement.where(table.c.id < cursor)
    rows = (await session.execute(statement.order_by(table.c.id.desc()).limit(limit + 1))).all()
    names = AccessRecordRead.model_fields
    items = [
        AccessRecordRead(**{k: v for k, v in row._mapping.items() if k in names})
        for row in rows[:limit]
    ]
    return AccessPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


async def export_csv(
    sessions: async_sessionmaker[AsyncSession],
    table: Table,
    *,
    principal: Principal,
    wanted: AccessFilter,
    controlled: Controlled | None,
) -> AsyncIterator[str]:
    """Every matching record, newest first, a chunk at a time (each in a short transaction
    of its own), so the export's size never sits in memory."""
    log.info("access audit export by %s (%s): %s", principal.client_id, principal.subject, wanted)
    yield _csv([COLUMNS])
    statement = _filtered(table, principal, wanted, controlled)
    statement = statement.order_by(table.c.id.desc()).limit(EXPORT_CHUNK)
    last: UUID | None = None
    while True:
        async with sessions() as session:
            chunk = statement if last is None else statement.where(table.c.id < last)
            rows: Sequence[Row[Any]] = (await session.execute(chunk)).all()
        if not rows:
            return
        yield _csv([_cells(row) for row in rows])
        last = rows[-1].id


def _cells(row: Row[Any]) -> list[Any]:
    values = dict(row._mapping)
    values["fields"] = " ".join(values["fields"])
    values["occurred_at"] = values["occurred_at"].isoformat()
    return [_safe(values[name]) for name in COLUMNS]


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return "" if value is None else value


def _csv(rows: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def access_audit_router(
    table: Table, *, scope: str, controlled: Controlled | None = None
) -> APIRouter:
    """`GET /audit/access` for a service: its read `scope` and the dpo role."""
    router = APIRouter(tags=["audit"])
    # A default, not an Annotated alias: the scope is this call's, and FastAPI reads the
    # (postponed) annotations in the module's globals.
    dpo = Scoped(scope, role="dpo")

    @router.get(
        "/audit/access",
        response_model=AccessPage,
        responses={
            200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON or CSV"},
            403: {"description": f"not a DPO (role dpo with scope {scope})"},
        },
    )
    async def audit_access(
        request: Request,
        session: DbSession,
        wanted: Wanted,
        limit: Limit = 50,
        cursor: UUID | None = None,
        format: Format = None,
        who: Principal = dpo,
    ) -> Any:
        """Who read the records the caller's agency controls (user, agency, fields, purpose,
        when), newest first: by record, record type, reader and period."""
        if format == "csv" or (format is None and CSV in request.headers.get("accept", "")):
            rows = export_csv(
                request.app.state.sessionmaker,
                table,
                principal=who,
                wanted=wanted,
                controlled=controlled,
            )
            headers = {"Content-Disposition": 'attachment; filename="access.csv"'}
            return StreamingResponse(rows, media_type=f"{CSV}; charset=utf-8", headers=headers)
        return await list_access(
            session,
            table,
            principal=who,
            wanted=wanted,
            controlled=controlled,
            limit=limit,
            cursor=cursor,
        )

    return router
