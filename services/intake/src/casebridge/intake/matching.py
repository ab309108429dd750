"""Matching a batch's complainants against the logs in one index-driven statement, and
scoring each candidate: who the complainant may already be (Home Office principle 1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Literal
from uuid import UUID

import asyncpg
from pydantic_core import to_json

from casebridge.intake import names, normalise
from casebridge.intake.models import REFERENCE_SEQUENCE, Complaint, Person
from casebridge.intake.repeat_victims import Counted
from casebridge.intake.rows import checked, sql_type, table_of
from casebridge.intake.schemas.people import Complainant, MatchReason, PersonDetails

MatchHow = Literal["attached", "created", "chosen"]
MAX_CANDIDATES = 10


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person as the matching statement returns it: the person's columns (every one:
    services/intake/tests/test_rows.py keeps them equal) and, for a log not marked yet,
    its complaints the repeat-victim rule counts. Plain values; no ORM object is built for
    people only looked at."""

    id: UUID
    area_id: UUID
    kind: str
    name: str
    name_norm: str
    surname_key: str | None
    date_of_birth: date | None
    phone: str | None
    email: str | None
    address: str | None
    postcode: str | None
    repeat_victim_at: datetime | None
    vulnerable: bool
    vulnerability_reasons: list[str]
    consent_status: str
    consent_recorded_at: datetime | None
    override_purposes: list[str]
    merged_into_id: UUID | None
    created_at: datetime
    recent: tuple[Counted, ...] = ()

    @classmethod
    def of(cls, row: Mapping[str, Any], recent: tuple[Counted, ...] = ()) -> Candidate:
        """From a person row: the matching statement's, or a log this batch creates."""
        return cls(**{name: row[name] for name in PERSON_COLUMNS}, recent=recent)


def _recent(record: asyncpg.Record) -> tuple[Counted, ...]:
    """The person's complaints since the window opened, as the statement aggregated them."""
    complaints = record["recent_complaints"]
    if complaints is None:  # none since then, or marked already (array_agg of no rows)
        return ()
    return tuple(
        Counted(*counted)
        for counted in zip(
            complaints, record["recent_incidents"], record["recent_reported"], strict=True
        )
    )


@dataclass(frozen=True)
class Scored:
    person: Candidate
    score: int
    reasons: list[MatchReason]
    certain: bool


@dataclass(frozen=True)
class Found:
    """The complainant's log: one already kept, or a new one (`new_row`, the person row)
    that the caller writes together with the complaint."""

    id: UUID
    kind: str
    how: MatchHow
    repeat_victim: bool = False
    new_row: dict[str, Any] | None = None
    # A kept log not marked yet: its complaints reported since the repeat-victim window
    # opened (what the rule counts).
    recent: tuple[Counted, ...] = ()
    # The log's latest word on sharing (what the protocol's conditions read).
    consent: str = "not_asked"
    consent_at: datetime | None = None
    overrides: tuple[str, ...] = ()
    # The log's vulnerability as matching read it.
    vulnerable: bool = False
    vulnerability_reasons: tuple[str, ...] = ()


def score(person: Candidate, details: PersonDetails) -> Scored:
    """Rank one candidate. Certain = same name, same kind, no contradicting date of birth,
    and one strong identifier (phone, e-mail, or date of birth)."""
    name_norm = normalise.name(details.name)
    same_name = person.name_norm == name_norm
    reasons: list[MatchReason] = []
    score = 0
    if details.phone and person.phone == details.phone:
        reasons.append(MatchReason.phone)
        score += 40
    if details.email and person.email == details.email:
        reasons.append(MatchReason.email)
        score += 40
    dob_known = details.date_of_birth is not None and person.date_of_birth is not None
    if same_name and dob_known and person.date_of_birth == details.date_of_birth:
        reasons.append(MatchReason.name_dob)
        score += 50
    if same_name and details.postcode and person.postcode == details.postcode:
        reasons.append(MatchReason.name_postcode)
        score += 30
    # A name variant (Bob / Robert, Smyth, Muhammad) is offered, never attached.
    variant = not same_name and names.variant(person.name_norm, name_norm)
    if variant and dob_known and person.date_of_birth == details.date_of_birth:
        reasons.append(MatchReason.variant_dob)
        score += 30
    if variant and details.postcode and person.postcode == details.postcode:
        reasons.append(MatchReason.variant_postcode)
        score += 15
    dob_differs = dob_known and person.date_of_birth != details.date_of_birth
    if dob_differs:
        reasons.append(MatchReason.dob_differs)
        score -= 50
    if not same_name and not variant:
        reasons.append(MatchReason.name_differs)
        score -= 20
    strong = {MatchReason.phone, MatchReason.email, MatchReason.name_dob} & set(reasons)
    certain = same_name and not dob_differs and bool(strong) and person.kind == details.kind
    return Scored(person, score, reasons, certain)


# One branch per identifier, each an equality on (area_id, column) that its own
# ix_person_match_* index serves (a NULL identifier finds nothing); UNION ALL keeps the
# planner from scanning an area. Name variants come from the surname's sound with the
# date of birth (ix_person_match_surname_dob) or the postcode (the postcode's own index).
# The last branch fetches a log the caller chose by id.
MATCH_ARMS = {
    "phone": ("phone",),
    "email": ("email",),
    "name_dob": ("name_norm", "date_of_birth"),
    "name_postcode": ("postcode", "name_norm"),
    "variant_dob": ("surname_key", "date_of_birth"),
    "variant_postcode": ("postcode", "surname_key"),
    "chosen": ("id:person_id",),
}
_PERSON = table_of(Person)
_COMPLAINT = table_of(Complaint)
PERSON_COLUMNS = tuple(c.key for c in _PERSON.columns)
# What a probe looks for: the person's own columns, typed as the model types them.
PROBED = checked(
    _PERSON, ("area_id", "name_norm", "surname_key", "phone", "email", "date_of_birth", "postcode")
)
for _columns in MATCH_ARMS.values():
    checked(_PERSON, tuple(c.split(":")[0] for c in _columns))


def _arm(columns: tuple[str, ...]) -> str:
    """Equalities on the person's columns, behind a guard on the probe's values: an arm
    whose identifier the caller did not give is skipped whole (a one-time filter), never
    run as a search for NULL, whatever plan the planner chose for the arm."""
    pairs = [c.split(":") if ":" in c else (c, c) for c in columns]
    given = " AND ".join(f"q.{probe_column} IS NOT NULL" for _, probe_column in pairs)
    equal = " AND ".join(f"p.{column} = q.{probe_column}" for column, probe_column in pairs)
    return f"{given} AND {equal}"


# The probe's record: the complaint's position, the person's columns it looks for, a log
# chosen by id, and the start of the repeat-victim window (compared with reported_at).
_PROBE_COLUMNS = ", ".join(
    [
        "i int",
        *(f"{name} {sql_type(_PERSON.c[name])}" for name in PROBED),
        f"person_id {sql_type(_PERSON.c.id)}",
        f"since {sql_type(_COMPLAINT.c.reported_at)}",
    ]
)


@cache
def match_statement() -> str:
    """A batch's complaints matched in one statement: a probe per complaint (its position
    `i`, its complainant's identifiers and the start of the repeat-victim window, from one
    JSON document) draws the complaint's reference number and is joined laterally to the
    people its identifiers find (a probe without identifiers, or without a match, is one
    row with NULL person columns). For each person not yet marked a repeat victim, the
    same row carries their complaints since the window opened (id, incident, reported_at)."""
    person, complaint, sequence = _PERSON.name, _COMPLAINT.name, REFERENCE_SEQUENCE.name
    arms = "\n  UNION ALL\n  ".join(
        f"(SELECT p.* FROM {person} AS p WHERE p.area_id = q.area_id"  # noqa: S608 - constants
        f" AND p.merged_into_id IS NULL AND {_arm(columns)} LIMIT {MAX_CANDIDATES * 2})"
        for columns in MATCH_ARMS.values()
    )
    # nextval is volatile: the CTE is evaluated once per probe, whatever the matches.
    return (
        f"WITH q AS (SELECT probe.*, nextval('{sequence}') AS reference_sequence"  # noqa: S608
        f" FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS probe({_PROBE_COLUMNS}))\n"
        "SELECT q.i, q.reference_sequence, found.*, recent.complaints AS recent_complaints,"
        " recent.incidents AS recent_incidents, recent.reported AS recent_reported\n"
        f"FROM q LEFT JOIN LATERAL (\n  {arms}\n) AS found ON true\n"
        "LEFT JOIN LATERAL (SELECT array_agg(c.id) AS complaints,"
        " array_agg(c.incident_id) AS incidents, array_agg(c.reported_at) AS reported"
        f" FROM {complaint} AS c"
        " WHERE c.person_id = found.id AND c.reported_at >= q.since"
        " AND found.repeat_victim_at IS NULL) AS recent ON true"
    )


def probe(
    i: int, area_id: UUID, complainant: Complainant | None, since: datetime | None = None
) -> dict[str, Any]:
    """What the matching statement looks for, for the complaint at position `i`."""
    found: dict[str, Any] = {"i": i, "area_id": area_id, "since": since}
    if complainant is None:
        return found
    if complainant.person_id is not None:
        return found | {"person_id": complainant.person_id}
    details = complainant.details
    assert details is not None
    name_norm = normalise.name(details.name)
    return found | {
        "name_norm": name_norm,
        "surname_key": names.surname_key(name_norm),
        "phone": details.phone,
        "email": details.email,
        "date_of_birth": details.date_of_birth,
        "postcode": details.postcode,
    }


@dataclass(frozen=True)
class Matched:
    """A probe's answer: the reference number drawn for its complaint, and the distinct
    people its identifiers found."""

    sequence: int
    candidates: list[Candidate]


async def match_many(
    driver: asyncpg.Connection[Any], probes: list[dict[str, Any]]
) -> dict[int, Matched]:
    """Each probe's answer, by the probe's position (run on the driver's connection, in the
    caller's transaction: the hot path of every complaint)."""
    if not probes:
        return {}
    drawn: dict[int, int] = {}
    found: dict[int, dict[UUID, Candidate]] = {}
    document = to_json(probes).decode()
    for row in await driver.fetch(match_statement(), document):
        i, person_id = row["i"], row["id"]
        drawn[i] = row["reference_sequence"]
        people = found.setdefault(i, {})
        if person_id is not None and person_id not in people:
            people[person_id] = Candidate.of(row, _recent(row))
    return {i: Matched(drawn[i], list(found[i].values())) for i in drawn}
