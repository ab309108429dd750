"""The disclosure log as a data protection officer audits it: by person, case reference,
recipient and period, page by page or as one streamed CSV export.

A DPO sees the disclosures of records its agency controls (it recorded them) and the
disclosures made to its agency, in its own area; nothing else.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.auth import Principal
from casebridge.common.pagination import Slice, page_by_id
from casebridge.sharing.models import Disclosure
from casebridge.sharing.visibility import audited_disclosures

log = logging.getLogger(__name__)

EXPORT_CHUNK = 500
COLUMNS = (
    "id", "occurred_at", "area_id", "source_event_type", "source_event_id", "source_reference",
    "data_class", "person_id", "controller_agency_id", "recipient_agency_id", "outcome",
    "fields", "redacted", "purposes", "legal_bases", "protocol_version", "reason",
)  # fmt: skip
# A spreadsheet runs a cell that begins with one of these (CSV injection): quote it.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    person_id: UUID | None = None
    reference: str | None = None
    recipient_agency_id: UUID | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


def _filtered(principal: Principal, wanted: AuditFilter) -> Select[Disclosure]:
    statement = audited_disclosures(principal)
    if wanted.person_id is not None:
        statement = statement.where(Disclosure.person_id == wanted.person_id)
    if wanted.reference is not None:
        statement = statement.where(Disclosure.source_reference == wanted.reference)
    if wanted.recipient_agency_id is not None:
        statement = statement.where(Disclosure.recipient_agency_id == wanted.recipient_agency_id)
    if wanted.occurred_from is not None:
        statement = statement.where(Disclosure.occurred_at >= wanted.occurred_from)
    if wanted.occurred_to is not None:
        statement = statement.where(Disclosure.occurred_at < wanted.occurred_to)
    return statement


async def list_disclosures(
    session: AsyncSession,
    *,
    principal: Principal,
    wanted: AuditFilter,
    limit: int,
    cursor: UUID | None,
) -> Slice[Disclosure]:
    log.info("disclosure audit read by %s (%s): %s", principal.client_id, principal.subject, wanted)
    return await page_by_id(
        session, _filtered(principal, wanted), Disclosure.id, limit=limit, cursor=cursor
    )


async def export_csv(
    sessions: async_sessionmaker[AsyncSession], *, principal: Principal, wanted: AuditFilter
) -> AsyncIterator[str]:
    """Every matching disclosure, newest first, as CSV: fetched a chunk at a time (each in a
    short transaction of its own), so the export's size never sits in memory."""
    log.info(
        "disclosure audit export by %s (%s): %s", principal.client_id, principal.subject, wanted
    )
    yield _csv([COLUMNS])
    statement = _filtered(principal, wanted).order_by(Disclosure.id.desc()).limit(EXPORT_CHUNK)
    last: UUID | None = None
    while True:
        async with sessions() as session:
            chunk = statement if last is None else statement.where(Disclosure.id < last)
            rows: Sequence[Disclosure] = (await session.scalars(chunk)).all()
        if not rows:
            return
        yield _csv([_cells(row) for row in rows])
        last = rows[-1].id


def _cells(row: Disclosure) -> list[Any]:
    values = {name: getattr(row, name) for name in COLUMNS}
    for name in ("fields", "redacted", "purposes"):
        values[name] = " ".join(values[name])
    values["legal_bases"] = " | ".join(values["legal_bases"])
    values["occurred_at"] = row.occurred_at.isoformat()
    return [_safe(values[name]) for name in COLUMNS]


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return "" if value is None else value


def _csv(rows: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()
