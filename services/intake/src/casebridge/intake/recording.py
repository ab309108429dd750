"""How a logged complaint reaches the database: in ONE statement. Its incident, the
complainant's new log (if any), the complaint, its agency references, perpetrators and
witnesses, and its ComplaintLogged outbox row are data-modifying CTEs of one INSERT chain,
and the same statement counts the complainant's earlier incidents for the repeat-victim
rule. One round trip instead of one per table, and no ORM unit of work on the hot path.

Every value travels as a bind parameter (child rows as arrays through `unnest`), so the
statement text depends only on which parts are present: each shape is built once and is
prepared once per connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Select, Table, Text, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.events import outbox
from casebridge.common.events.envelope import Contract
from casebridge.intake.models import (
    AgencyReference,
    Complaint,
    Incident,
    OutboxMessage,
    Perpetrator,
    Person,
    Witness,
)

# Columns written from Python (every column: the row is complete without server defaults).
PERSON_COLUMNS = tuple(c.key for c in Person.__table__.columns)
COMPLAINT_COLUMNS = tuple(c.key for c in Complaint.__table__.columns)
# The outbox's bookkeeping columns (attempts, lease, next attempt) keep their defaults.
OUTBOX_COLUMNS = ("id", "subject", "event_type", "aggregate_type", "aggregate_id", "payload")
# Child tables: every column but complaint_id, which is the complaint's.
CHILD_TABLES: dict[str, Table] = {
    "reference": AgencyReference.__table__,  # type: ignore[dict-item]
    "perpetrator": Perpetrator.__table__,  # type: ignore[dict-item]
    "witness": Witness.__table__,  # type: ignore[dict-item]
}


def _row_cte(table: Table, prefix: str, columns: Sequence[str], name: str) -> Any:
    values: dict[str, Any] = {
        key: bindparam(f"{prefix}{key}", type_=table.c[key].type) for key in columns
    }
    for key in columns:
        if isinstance(table.c[key].type, JSONB):
            # The value arrives as JSON text (pydantic's serialiser): PostgreSQL parses it.
            values[key] = cast(bindparam(f"{prefix}{key}", type_=Text), JSONB)
    return insert(table).values(values).cte(name)


def _children_cte(kind: str) -> Any:
    """INSERT ... SELECT FROM unnest(array, array, ...): any number of rows, one shape."""
    table = CHILD_TABLES[kind]
    columns = [c for c in table.columns if c.key != "complaint_id"]
    # Element types without their length (VARCHAR[], not VARCHAR(12)[]): an explicit cast
    # would silently truncate, the column's assignment cast refuses a value too long.
    arrays = [bindparam(f"{kind}_{c.key}", type_=ARRAY(type(c.type)())) for c in columns]
    rows = func.unnest(*arrays).table_valued(*(c.key for c in columns)).render_derived()
    # The same parameter as the complaint's own id.
    complaint_id = bindparam("complaint_id", type_=table.c.complaint_id.type)
    source = select(complaint_id, *(rows.c[c.key] for c in columns))
    target = ["complaint_id", *(c.key for c in columns)]
    return insert(table).from_select(target, source).cte(f"new_{kind}")


@cache
def write_statement(new_person: bool, children: frozenset[str]) -> Select[int]:
    """The INSERT chain for one shape; its result is the number of distinct incidents the
    complainant reported from `since` on, BEFORE this complaint (a statement does not see
    its own CTEs' rows)."""
    parts = []
    if new_person:
        parts.append(_row_cte(Person.__table__, "person_", PERSON_COLUMNS, "new_person"))  # type: ignore[arg-type]
    parts.append(
        _row_cte(Incident.__table__, "incident_", ("id", "area_id", "created_at"), "new_incident")  # type: ignore[arg-type]
    )
    parts.append(
        _row_cte(Complaint.__table__, "complaint_", COMPLAINT_COLUMNS, "new_complaint")  # type: ignore[arg-type]
    )
    parts.extend(_children_cte(kind) for kind in sorted(children))
    parts.append(_row_cte(OutboxMessage.__table__, "outbox_", OUTBOX_COLUMNS, "new_outbox"))  # type: ignore[arg-type]
    person_id: Column[UUID] = Complaint.__table__.c.person_id  # type: ignore[assignment]
    reported_at: Column[datetime] = Complaint.__table__.c.reported_at  # type: ignore[assignment]
    return (
        select(func.count(Complaint.incident_id.distinct()))
        .where(person_id == bindparam("complaint_person_id"), reported_at >= bindparam("since"))
        .add_cte(*parts)
    )


def outbox_row(event: Contract, *, area_id: UUID, aggregate_id: UUID | str) -> dict[str, Any]:
    """The outbox row `casebridge.common.events.outbox.add` stages, as plain values (the
    payload as JSON text)."""
    envelope = outbox.envelope_for(event, area_id=area_id)
    values = outbox.row(envelope, aggregate_type=event.aggregate_type, aggregate_id=aggregate_id)
    return values | {"payload": envelope.model_dump_json()}


async def write_complaint(
    session: AsyncSession,
    *,
    complaint: Mapping[str, Any],
    incident: Mapping[str, Any],
    person: Mapping[str, Any] | None,
    children: Mapping[str, Sequence[Mapping[str, Any]]],
    outbox: Mapping[str, Any],
    since: datetime,
) -> int:
    """Write the rows in the session's transaction (flushed, never committed) and return
    the complainant's distinct incidents since `since`, not counting this complaint."""
    present = frozenset(kind for kind, rows in children.items() if rows)
    params: dict[str, Any] = {f"complaint_{k}": v for k, v in complaint.items()}
    params.update({f"incident_{k}": v for k, v in incident.items()})
    params.update({f"outbox_{k}": v for k, v in outbox.items()})
    if person is not None:
        params.update({f"person_{k}": v for k, v in person.items()})
    for kind in present:
        for column in CHILD_TABLES[kind].columns:
            if column.key != "complaint_id":
                params[f"{kind}_{column.key}"] = [row[column.key] for row in children[kind]]
    params["since"] = since
    statement = write_statement(person is not None, present)
    return int(await session.scalar(statement, params) or 0)
