"""Counting what intake and sharing announce: each event adds one to its cell, on its date
in Europe/London. Adding is commutative and the inbox makes a redelivery a no-op, so the
cells are right whatever the order the events arrive in. Only categories, dates, agency ids
and the postcode district are kept; nothing about the person."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import (
    ComplaintLogged,
    PersonVulnerabilityChanged,
    RepeatVictimMarked,
    RiskAssessed,
)
from casebridge.common.contracts.sharing import (
    DisclosureRecorded,
    DisclosuresRecorded,
    PartnerUpdateRecorded,
)
from casebridge.stats.models import (
    Area,
    Base,
    ComplaintCount,
    ComplaintDistrictCount,
    PartnerCount,
    RepeatVictimCount,
    RiskCount,
    VulnerabilityCount,
)
from casebridge.stats.periods import local_date, month_start

_INTAKE_REFERENCE = re.compile(r"^([A-Z]{2,6})-\d{4}-\d+-\d$")
_REVIEW_REFERENCE = re.compile(r"^CR-([A-Z]{2,6})-\d{4}-\d+$")
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
UNKNOWN_DISTRICT = "unknown"


def area_code_of(reference: str) -> tuple[str, str] | None:
    """The area code a reference starts with, and which service's reference it is
    (`DMO-2026-000001-7` -> DMO from intake; `CR-DMO-2026-000001` -> DMO from review)."""
    if match := _REVIEW_REFERENCE.match(reference):
        return match.group(1), "review"
    if match := _INTAKE_REFERENCE.match(reference):
        return match.group(1), "intake"
    return None


def postcode_district(postcode: str | None) -> str:
    """The outward code (`SW1A 1AA` -> `SW1A`): the finest place stats keeps."""
    if not postcode:
        return UNKNOWN_DISTRICT
    compact = postcode.replace(" ", "").upper()
    outward = compact[:-3] if len(compact) > 4 else compact
    return outward if _DISTRICT.match(outward) else UNKNOWN_DISTRICT


@dataclass
class Tally:
    """What a batch of events adds: the amount per cell of each table's counter, and the
    areas named with the best code their references gave (intake's is the registry)."""

    cells: dict[tuple[type[Base], str], dict[tuple[tuple[str, Any], ...], int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    areas: dict[UUID, tuple[str | None, str | None]] = field(default_factory=dict)

    def add(self, model: type[Base], counter: str, amount: int, **cell: Any) -> None:
        self.cells[model, counter][tuple(sorted(cell.items()))] += amount

    def area(self, area_id: UUID, reference: str | None) -> None:
        found = area_code_of(reference) if reference else None
        code, source = found if found else (None, None)
        known = self.areas.get(area_id)
        if known is None or _RANK[source] > _RANK[known[1]]:
            self.areas[area_id] = (code, source)


# A code beats none, intake's beats review's; the first of equals stands (as one by one).
_RANK: dict[str | None, int] = {None: 0, "review": 1, "intake": 2}


async def write(session: AsyncSession, tally: Tally) -> None:
    """Everything the tally holds in ONE statement (one round trip): an upsert per table
    from arrays (unnest), the others as data-modifying CTEs of the last. The statement's
    text depends only on which tables it writes, so it is built once and stays prepared;
    cells go in key order (two writers lock rows in the same order)."""
    parts: list[tuple[Table, str]] = []
    params: dict[str, Any] = {}
    if tally.areas:
        parts.append((_AREA, ""))
        rows = sorted(tally.areas.items())
        params["area_id"] = [area_id for area_id, _ in rows]
        params["area_code"] = [code for _, (code, _) in rows]
        params["area_code_from"] = [source for _, (_, source) in rows]
    for (model, counter), cells in tally.cells.items():
        table = cast(Table, model.__table__)
        parts.append((table, counter))
        ordered = sorted(cells.items())
        for n, column in enumerate(_keys(table)):
            params[f"{table.name}_{column.name}"] = [cell[n][1] for cell, _ in ordered]
        params[f"{table.name}_{counter}"] = [amount for _, amount in ordered]
    if parts:
        await session.execute(_statement(tuple(parts)), params)


def _keys(table: Table) -> list[Any]:
    """The cell's columns in the order a tally keeps them (sorted by name)."""
    return sorted(table.primary_key.columns, key=lambda column: column.name)


_AREA = cast(Table, Area.__table__)
_STATEMENTS: dict[tuple[tuple[Table, str], ...], TextClause] = {}
_AREA_UPSERT = """INSERT INTO area (area_id, code, code_from)
    SELECT * FROM unnest(CAST(:area_id AS uuid[]), CAST(:area_code AS varchar[]),
                         CAST(:area_code_from AS varchar[]))
    ON CONFLICT (area_id) DO UPDATE SET code = excluded.code, code_from = excluded.code_from
    WHERE excluded.code IS NOT NULL
      AND (area.code IS NULL OR (area.code_from = 'review' AND excluded.code_from = 'intake'))"""


def _statement(parts: tuple[tuple[Table, str], ...]) -> TextClause:
    found = _STATEMENTS.get(parts)
    if found is None:
        upserts = [_AREA_UPSERT if table is _AREA else _upsert(table, c) for table, c in parts]
        ctes = ", ".join(f"add_{n} AS ({sql})" for n, sql in enumerate(upserts[:-1]))
        found = text(f"WITH {ctes} {upserts[-1]}" if ctes else upserts[-1])
        _STATEMENTS[parts] = found
    return found


def _upsert(table: Table, counter: str) -> str:
    """Add each row's amount to its cell, creating the cell at that amount."""
    dialect: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    columns = [*_keys(table), table.c[counter]]
    arrays = ", ".join(
        f"CAST(:{table.name}_{c.name} AS {c.type.compile(dialect=dialect)}[])" for c in columns
    )
    names = ", ".join(c.name for c in columns)
    keys = ", ".join(c.name for c in _keys(table))
    return (
        # names from our own table metadata, never from input
        f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        f"ON CONFLICT ({keys}) DO UPDATE SET {counter} = {table.name}.{counter} + "
        f"excluded.{counter}"
    )


async def note_area(session: AsyncSession, *, area_id: UUID, reference: str | None) -> None:
    """Know the area; learn its code from a reference (intake's is the registry: it wins)."""
    tally = Tally()
    tally.area(area_id, reference)
    await write(session, tally)


def _month(moment: datetime) -> Any:
    return month_start(local_date(moment))


def tally_complaint(tally: Tally, area_id: UUID, event: ComplaintLogged) -> None:
    """A complaint counts in the month it was made to the agency (Europe/London), with the
    categories it was logged with."""
    month = _month(event.reported_at)
    tally.area(area_id, event.reference)
    tally.add(
        ComplaintCount,
        "complaints",
        1,
        area_id=area_id,
        month=month,
        agency_id=event.receiving_agency_id,
        asb_type=event.asb_type,
        nsir_category=event.nsir_category,
        channel=event.channel,
        hate_motivated=event.hate_motivated,
    )
    tally.add(
        ComplaintDistrictCount,
        "complaints",
        1,
        area_id=area_id,
        month=month,
        postcode_district=postcode_district(event.postcode),
    )


def tally_risk_assessment(tally: Tally, area_id: UUID, event: RiskAssessed) -> None:
    tally.add(
        RiskCount,
        "assessments",
        1,
        area_id=area_id,
        month=_month(event.assessed_at),
        agency_id=event.receiving_agency_id,
        band=event.band,
    )


def tally_repeat_victim(tally: Tally, area_id: UUID, event: RepeatVictimMarked) -> None:
    tally.add(RepeatVictimCount, "marks", 1, area_id=area_id, month=_month(event.marked_at))


def tally_vulnerability_change(
    tally: Tally, area_id: UUID, event: PersonVulnerabilityChanged
) -> None:
    """A log flagged vulnerable or cleared, in the month it changed; an event that changes
    nothing (the flag confirmed) is not counted."""
    if event.vulnerable == event.previous:
        return
    tally.add(
        VulnerabilityCount,
        "changes",
        1,
        area_id=area_id,
        month=_month(event.changed_at),
        origin=event.origin,
        change="flagged" if event.vulnerable else "cleared",
    )


def tally_partner_update(tally: Tally, area_id: UUID, event: PartnerUpdateRecorded) -> None:
    """An update a partner recorded on a case, per agency and the outcome it recorded."""
    tally_partner_activity(
        tally,
        area_id=area_id,
        agency_id=event.agency_id,
        activity="update",
        outcome=event.outcome,
        at=event.recorded_at,
    )


def tally_disclosures(tally: Tally, area_id: UUID, event: DisclosuresRecorded) -> None:
    """Every recipient's disclosure of one shared event, each as `tally_disclosure`."""
    for disclosure in event.each():
        tally_disclosure(tally, area_id, disclosure)


def tally_disclosure(tally: Tally, area_id: UUID, event: DisclosureRecorded) -> None:
    """A partner delivery (or a refusal to deliver), per recipient agency and outcome."""
    tally_partner_activity(
        tally,
        area_id=area_id,
        agency_id=event.recipient_agency_id,
        activity="delivery",
        outcome=event.outcome,
        at=event.occurred_at,
    )


def tally_partner_activity(
    tally: Tally, *, area_id: UUID, agency_id: UUID, activity: str, outcome: str, at: datetime
) -> None:
    """One partner delivery (by outcome) or one partner update (by the outcome the partner
    recorded)."""
    tally.add(
        PartnerCount,
        "events",
        1,
        area_id=area_id,
        month=_month(at),
        agency_id=agency_id,
        activity=activity,
        outcome=outcome,
    )
