"""Who is the SPOC and who sits on the panel in each area, as review announces it
(ProcedureChanged): an agency standing so is in the `spoc` or `panel` relation to the
area's case review records (reviews, triggers, partner updates) under the protocol, as it
is for review's own reads.

Kept per area, the latest procedure version winning (a redelivered or late older version
changes nothing). The announcements come on the REVIEW stream through the same durable
consumer as the review events, so a review event is decided on the procedure announced
before it; a batch reads the replica once and applies its own announcements in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from casebridge.common.contracts.review import ProcedureChanged
from casebridge.sharing.models import AreaProcedure
from casebridge.sharing.reads import Rows, json_rows, time_of, uuid_of


@dataclass(frozen=True)
class Procedure:
    """One version of an area's procedure, as far as sharing decides on it."""

    version: int = 0  # 0: review never announced one (nobody is SPOC or on the panel)
    spoc: UUID | None = None
    panel: frozenset[UUID] = frozenset()
    changed_at: datetime | None = None

    def facts(self, agency_id: UUID) -> dict[str, bool]:
        """The agency's relations under this procedure, as `relations_of` takes them."""
        return {"spoc": agency_id == self.spoc, "panel": agency_id in self.panel}

    def then(self, event: ProcedureChanged) -> Procedure:
        """The procedure in force once `event` is applied: the later version wins."""
        if event.procedure_version <= self.version:
            return self
        return Procedure(
            event.procedure_version,
            event.spoc_agency_id,
            frozenset(event.panel_agency_ids),
            event.changed_at,
        )


NONE = Procedure()


def in_force_read(areas: Iterable[UUID]) -> ScalarSelect[Any]:
    """The areas' procedures kept, as one read of a batch's (`reads.read_together`)."""
    return json_rows(
        select(
            AreaProcedure.area_id,
            AreaProcedure.version,
            AreaProcedure.spoc_agency_id,
            AreaProcedure.panel_agency_ids,
            AreaProcedure.changed_at,
        ).where(AreaProcedure.area_id.in_(sorted(set(areas))))
    )


def in_force_from(rows: Rows, areas: Iterable[UUID]) -> dict[UUID, Procedure]:
    """Each area's procedure from that read (an area review never announced has NONE)."""
    found = dict.fromkeys(sorted(set(areas)), NONE)
    for row in rows:
        spoc = row["spoc_agency_id"]
        found[uuid_of(row["area_id"])] = Procedure(
            row["version"],
            uuid_of(spoc) if spoc is not None else None,
            frozenset(uuid_of(a) for a in row["panel_agency_ids"]),
            time_of(row["changed_at"]),
        )
    return found


async def keep(session: AsyncSession, procedures: dict[UUID, Procedure]) -> None:
    """Store each area's procedure unless a later version is stored already (one statement;
    a redelivery, or a version older than the one kept, changes nothing)."""
    rows = [
        {
            "area_id": area,
            "version": p.version,
            "spoc_agency_id": p.spoc,
            "panel_agency_ids": sorted(p.panel),
            "changed_at": p.changed_at,
        }
        for area, p in sorted(procedures.items())
        if p.version > 0
    ]
    if not rows:
        return
    statement = insert(AreaProcedure).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[AreaProcedure.area_id],
            set_={
                "version": statement.excluded.version,
                "spoc_agency_id": statement.excluded.spoc_agency_id,
                "panel_agency_ids": statement.excluded.panel_agency_ids,
                "changed_at": statement.excluded.changed_at,
                "recorded_at": statement.excluded.recorded_at,
            },
            where=AreaProcedure.version < statement.excluded.version,
        )
    )
