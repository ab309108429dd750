"""How logged complaints reach the database: a whole batch in ONE statement. The new logs,
incidents, complaints, their agency references, perpetrators and witnesses, the outbox
rows, the idempotency records' first responses (and the release of keys whose request
failed) are data-modifying CTEs of one statement, and the same statement counts each
complainant's earlier incidents for the repeat-victim rule.

The rows travel as ONE JSON document, unpacked by `jsonb_populate_recordset` into each
table's own row type, so the statement text never changes with the batch's size or shape:
it is prepared once per connection, and a batch of 1 or of 64 is one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast
from uuid import UUID

from pydantic_core import to_json
from sqlalchemy import Table, TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.events import outbox
from casebridge.common.events.envelope import Contract
from casebridge.intake.models import (
    AgencyReference,
    Complaint,
    IdempotencyRecord,
    Incident,
    OutboxMessage,
    Perpetrator,
    Person,
    Witness,
)

# Every column is written from Python (the row is complete without server defaults), but
# the outbox's bookkeeping columns (attempts, lease, next attempt) keep their defaults.
OUTBOX_COLUMNS = ("id", "subject", "event_type", "aggregate_type", "aggregate_id", "payload")
COMPLAINT_COLUMNS = tuple(c.key for c in Complaint.__table__.columns)

# The document's keys, in the order the CTEs insert them, with the columns each writes.
_TABLES: tuple[tuple[str, Table, Sequence[str] | None], ...] = tuple(
    (key, cast(Table, model.__table__), columns)
    for key, model, columns in (
        ("person", Person, None),
        ("incident", Incident, None),
        ("complaint", Complaint, None),
        ("reference", AgencyReference, None),
        ("perpetrator", Perpetrator, None),
        ("witness", Witness, None),
        ("outbox", OutboxMessage, OUTBOX_COLUMNS),
    )
)
_IDEMPOTENCY = cast(Table, IdempotencyRecord.__table__).name


@dataclass
class Batch:
    """The rows of one batch of logged complaints, as plain values."""

    person: list[Mapping[str, Any]] = field(default_factory=list)
    incident: list[Mapping[str, Any]] = field(default_factory=list)
    complaint: list[Mapping[str, Any]] = field(default_factory=list)
    reference: list[Mapping[str, Any]] = field(default_factory=list)
    perpetrator: list[Mapping[str, Any]] = field(default_factory=list)
    witness: list[Mapping[str, Any]] = field(default_factory=list)
    outbox: list[Mapping[str, Any]] = field(default_factory=list)
    # First responses to store (caller, key, status_code, media_type, body), and keys
    # claimed by requests that failed (caller, key), released for a retry.
    responses: list[Mapping[str, Any]] = field(default_factory=list)
    released: list[Mapping[str, Any]] = field(default_factory=list)
    # Whose earlier incidents to count: (person_id, since).
    counts: list[Mapping[str, Any]] = field(default_factory=list)


# The statements below are put together from table and column names of the models (never
# from input): every value is in the one bound JSON document.


def _insert(key: str, table: Table, columns: Sequence[str] | None) -> str:
    names = ", ".join(columns or [c.name for c in table.columns])
    return (
        f"new_{key} AS (INSERT INTO {table.name} ({names}) SELECT {names}"  # noqa: S608
        f" FROM doc, jsonb_populate_recordset(NULL::{table.name}, doc.d -> '{key}'))"
    )


@cache
def write_statement() -> TextClause:
    """The batch's one statement; its rows are (person_id, incidents): each counted
    complainant's distinct incidents since `since`, BEFORE this batch (a statement does
    not see its own CTEs' rows)."""
    ctes = ["doc AS (SELECT CAST(:doc AS jsonb) AS d)"]
    ctes += [_insert(key, table, columns) for key, table, columns in _TABLES]
    ctes += [
        f"stored AS (UPDATE {_IDEMPOTENCY} AS r SET status_code = x.status_code,"  # noqa: S608
        " media_type = x.media_type, body = x.body"
        f" FROM doc, jsonb_populate_recordset(NULL::{_IDEMPOTENCY}, doc.d -> 'responses') AS x"
        " WHERE r.caller = x.caller AND r.key = x.key)",
        f"released AS (DELETE FROM {_IDEMPOTENCY} AS r"  # noqa: S608
        f" USING doc, jsonb_populate_recordset(NULL::{_IDEMPOTENCY}, doc.d -> 'released') AS x"
        " WHERE r.caller = x.caller AND r.key = x.key)",
    ]
    return text(
        "WITH " + ",\n".join(ctes) + "\nSELECT x.person_id, (SELECT count(DISTINCT c.incident_id)"  # noqa: S608
        " FROM complaint AS c WHERE c.person_id = x.person_id AND c.reported_at >= x.since)"
        " FROM doc, jsonb_to_recordset(doc.d -> 'counts') AS x(person_id uuid, since timestamptz)"
    )


async def write(session: AsyncSession, batch: Batch) -> dict[UUID, int]:
    """Write the batch in the session's transaction (never committed here) and return each
    counted complainant's distinct incidents before it (absent: none)."""
    document = to_json(batch.__dict__).decode()
    rows = await session.execute(write_statement(), {"doc": document})
    return {row[0]: int(row[1]) for row in rows}


def outbox_row(event: Contract, *, area_id: UUID, aggregate_id: UUID | str) -> dict[str, Any]:
    """The outbox row `casebridge.common.events.outbox.add` stages, as plain values (its
    payload the envelope, serialised with the rest of the batch's document)."""
    envelope = outbox.envelope_for(event, area_id=area_id)
    return outbox.row(envelope, aggregate_type=event.aggregate_type, aggregate_id=aggregate_id)


def repeat_since(counts: list[Mapping[str, Any]], person_id: UUID, since: datetime) -> None:
    """Ask the statement to count this complainant's earlier incidents (once per person)."""
    if not any(c["person_id"] == person_id for c in counts):
        counts.append({"person_id": person_id, "since": since})
