"""How logged complaints reach the database: a whole batch in ONE statement. The new logs,
incidents, complaints, their agency references, perpetrators and witnesses, risk
assessments made at the call and the vulnerability they record, the outbox rows,
repeat-victim marks, the idempotency records' first responses (and the release of keys
whose request failed) are data-modifying CTEs of one statement.

The rows travel as ONE JSON document, unpacked by `jsonb_populate_recordset` into each
table's own row type, so the statement text never changes with the batch's size or shape:
it is prepared once per connection, and a batch of 1 or of 64 is one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from uuid import UUID

import asyncpg
from pydantic_core import to_json
from sqlalchemy import Table

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
    PersonVulnerability,
    RiskAssessment,
    Witness,
)
from casebridge.intake.repeat_victims import Counted
from casebridge.intake.rows import checked, table_of

_PERSON = table_of(Person)
_IDEMPOTENCY_TABLE = table_of(IdempotencyRecord)

# Every column is written from Python (the row is complete without server defaults), but
# the outbox's bookkeeping columns (attempts, lease, next attempt) keep their defaults:
# the one documented exception (its rows come from `casebridge.common.events.outbox.row`).
OUTBOX_COLUMNS = checked(
    table_of(OutboxMessage),
    ("id", "subject", "event_type", "aggregate_type", "aggregate_id", "payload"),
)
COMPLAINT_COLUMNS = tuple(c.key for c in table_of(Complaint).columns)
# The idempotency record's columns the batch sets once the first response is known, and
# the key that names a record (its primary key).
IDEMPOTENCY_KEY = tuple(c.name for c in _IDEMPOTENCY_TABLE.primary_key.columns)
IDEMPOTENCY_STORED = checked(
    _IDEMPOTENCY_TABLE, (*IDEMPOTENCY_KEY, "status_code", "media_type", "body")
)


# What a kept log's one update may change (with its id): mark, word on sharing, vulnerability.
TOUCHED_COLUMNS = checked(
    _PERSON,
    (
        "id",
        "repeat_victim_at",
        "consent_status",
        "consent_recorded_at",
        "vulnerable",
        "vulnerability_reasons",
    ),
)

# The document's keys, in the order the CTEs insert them, with the columns each writes.
_TABLES: tuple[tuple[str, Table, Sequence[str] | None], ...] = tuple(
    (key, table_of(model), columns)
    for key, model, columns in (
        ("person", Person, None),
        ("incident", Incident, None),
        ("complaint", Complaint, None),
        ("reference", AgencyReference, None),
        ("perpetrator", Perpetrator, None),
        ("witness", Witness, None),
        ("assessment", RiskAssessment, None),
        ("vulnerability", PersonVulnerability, None),
        ("outbox", OutboxMessage, OUTBOX_COLUMNS),
    )
)


@dataclass
class Batch:
    """The rows of one batch of logged complaints, as plain values."""

    person: list[Mapping[str, Any]] = field(default_factory=list)
    incident: list[Mapping[str, Any]] = field(default_factory=list)
    complaint: list[Mapping[str, Any]] = field(default_factory=list)
    reference: list[Mapping[str, Any]] = field(default_factory=list)
    perpetrator: list[Mapping[str, Any]] = field(default_factory=list)
    witness: list[Mapping[str, Any]] = field(default_factory=list)
    assessment: list[Mapping[str, Any]] = field(default_factory=list)
    vulnerability: list[Mapping[str, Any]] = field(default_factory=list)
    outbox: list[Mapping[str, Any]] = field(default_factory=list)
    # First responses to store (caller, key, status_code, media_type, body), and keys
    # claimed by requests that failed (caller, key), released for a retry.
    responses: list[Mapping[str, Any]] = field(default_factory=list)
    released: list[Mapping[str, Any]] = field(default_factory=list)
    # Logs marked repeat victims: (id, repeat_victim_at).
    marked: list[Mapping[str, Any]] = field(default_factory=list)
    # Kept logs whose word on sharing is this batch's: (id, consent_status, recorded_at).
    consented: list[Mapping[str, Any]] = field(default_factory=list)
    # Kept logs flagged vulnerable by risk answers: (id, vulnerable, vulnerability_reasons).
    flagged: list[Mapping[str, Any]] = field(default_factory=list)
    # Not written: each log's recent complaints as the repeat-victim rule counts them.
    recent: dict[UUID, tuple[Counted, ...]] = field(default_factory=dict)

    @property
    def marked_people(self) -> set[UUID]:
        return {row["id"] for row in self.marked}

    def new_person(self, person_id: UUID) -> dict[str, Any] | None:
        """The row of a log this batch creates (not written yet: changed in place)."""
        row = next((r for r in self.person if r["id"] == person_id), None)
        assert row is None or isinstance(row, dict)
        return row

    def document(self) -> str:
        """The rows to write, as the statement's one JSON document. A kept log is updated
        once (a row cannot be updated twice by one statement): its mark, its word on
        sharing and its vulnerability travel together."""
        rows = {
            key: value
            for key, value in self.__dict__.items()
            if key not in ("recent", "marked", "consented", "flagged")
        }
        touched: dict[Any, dict[str, Any]] = {}
        for row in [*self.marked, *self.consented, *self.flagged]:
            touched.setdefault(row["id"], {}).update(row)
        rows["touched"] = list(touched.values())
        return to_json(rows).decode()


# The statements below are put together from table and column names of the models (never
# from input): every value is in the one bound JSON document.


def _insert(key: str, table: Table, columns: Sequence[str] | None) -> str:
    names = ", ".join(columns or [c.name for c in table.columns])
    return (
        f"new_{key} AS (INSERT INTO {table.name} ({names}) SELECT {names}"  # noqa: S608
        f" FROM doc, jsonb_populate_recordset(NULL::{table.name}, doc.d -> '{key}'))"
    )


@cache
def write_statement() -> str:
    """The batch's one statement."""
    ctes = ["doc AS (SELECT CAST($1 AS jsonb) AS d)"]
    ctes += [_insert(key, table, columns) for key, table, columns in _TABLES]
    ctes += [
        # A kept log's repeat-victim mark (never moved once set), its word on sharing
        # (the latest consent recorded wins) and its vulnerability (a flag from risk
        # answers adds its reasons; only an officer clears it), in one update per log.
        _touched(_PERSON.name),
        _stored(),
        _released(),
    ]
    return "WITH " + ",\n".join(ctes) + "\nSELECT 1"


def _touched(person: str) -> str:
    """A kept log's repeat-victim mark (never moved once set), its word on sharing (the
    latest consent recorded wins) and its vulnerability (a flag from risk answers adds its
    reasons; only an officer clears it), in one update per log."""
    return (
        f"touched AS (UPDATE {person} AS p"  # noqa: S608 - names from the model
        " SET repeat_victim_at = COALESCE(p.repeat_victim_at, x.repeat_victim_at),"
        " vulnerable = p.vulnerable OR COALESCE(x.vulnerable, false),"
        " vulnerability_reasons = CASE WHEN x.vulnerability_reasons IS NULL"
        " THEN p.vulnerability_reasons ELSE ARRAY(SELECT DISTINCT r FROM"
        " unnest(p.vulnerability_reasons || x.vulnerability_reasons) AS r ORDER BY r) END,"
        " consent_status = CASE WHEN x.later THEN x.consent_status ELSE p.consent_status END,"
        " consent_recorded_at = CASE WHEN x.later THEN x.consent_recorded_at"
        " ELSE p.consent_recorded_at END"
        " FROM (SELECT t.*, t.consent_recorded_at IS NOT NULL"
        " AND (q.consent_recorded_at IS NULL OR q.consent_recorded_at <= t.consent_recorded_at)"
        f" AS later FROM doc, jsonb_populate_recordset(NULL::{person}, doc.d -> 'touched') AS t"
        f" JOIN {person} AS q ON q.id = t.id) AS x"
        " WHERE p.id = x.id)"
    )


def _same_record(alias: str) -> str:
    return " AND ".join(f"{alias}.{c} = x.{c}" for c in IDEMPOTENCY_KEY)


def _stored() -> str:
    """The first responses, set on the records this batch (or an earlier one) claimed."""
    table = _IDEMPOTENCY_TABLE.name
    values = ", ".join(f"{c} = x.{c}" for c in IDEMPOTENCY_STORED if c not in IDEMPOTENCY_KEY)
    return (
        f"stored AS (UPDATE {table} AS r SET {values}"  # noqa: S608 - names from the model
        f" FROM doc, jsonb_populate_recordset(NULL::{table}, doc.d -> 'responses') AS x"
        f" WHERE {_same_record('r')})"
    )


def _released() -> str:
    """The keys of requests that failed, released for a retry."""
    table = _IDEMPOTENCY_TABLE.name
    return (
        f"released AS (DELETE FROM {table} AS r"  # noqa: S608 - names from the model
        f" USING doc, jsonb_populate_recordset(NULL::{table}, doc.d -> 'released') AS x"
        f" WHERE {_same_record('r')})"
    )


async def write(driver: asyncpg.Connection[Any], batch: Batch) -> None:
    """Write the batch on the driver's connection, in the caller's transaction (never
    committed here)."""
    await driver.execute(write_statement(), batch.document())


def outbox_row(event: Contract, *, area_id: UUID, aggregate_id: UUID | str) -> dict[str, Any]:
    """The outbox row `casebridge.common.events.outbox.add` stages, as plain values (its
    payload the envelope, serialised with the rest of the batch's document)."""
    envelope = outbox.envelope_for(event, area_id=area_id)
    return outbox.row(envelope, aggregate_type=event.aggregate_type, aggregate_id=aggregate_id)
