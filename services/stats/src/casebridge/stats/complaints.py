"""The complaints summary: one query over the monthly counts of the caller's area."""

from __future__ import annotations

from collections import Counter
from datetime import date
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.stats.models import ComplaintCount, ComplaintDistrictCount
from casebridge.stats.periods import Period
from casebridge.stats.schemas import ComplaintStats

# The National Standard for Incident Recording qualifiers, and the types intake records
# (the Metropolitan Police's 13 headings, plus other): published tables show every one.
NSIR_QUALIFIERS = ("personal", "nuisance", "environmental")
ASB_TYPES = (
    "vehicle_abandoned",
    "vehicle_nuisance",
    "rowdy_behaviour",
    "rowdy_neighbours",
    "littering_drugs",
    "animal_problems",
    "trespass",
    "nuisance_communications",
    "street_drinking",
    "prostitution",
    "noise",
    "begging",
    "fireworks",
    "other",
)


class ByCategory:
    """Complaints of a period per (NSIR qualifier, type), with every known category listed
    (and any other the events brought)."""

    def __init__(self, cells: dict[tuple[str, str], int]) -> None:
        self.cells = cells
        found_nsir, found_types = {n for n, _ in cells}, {t for _, t in cells}
        self.qualifiers = [*NSIR_QUALIFIERS, *sorted(found_nsir - set(NSIR_QUALIFIERS))]
        self.types = [*ASB_TYPES, *sorted(found_types - set(ASB_TYPES))]

    def count(self, nsir: str, kind: str) -> int:
        return self.cells.get((nsir, kind), 0)


async def by_category(session: AsyncSession, *, area_id: UUID, period: Period) -> ByCategory:
    """Complaints made in the months of `period`, per NSIR qualifier and type."""
    rows = await session.execute(
        select(
            ComplaintCount.nsir_category,
            ComplaintCount.asb_type,
            func.sum(ComplaintCount.complaints),
        )
        .where(
            ComplaintCount.area_id == area_id,
            ComplaintCount.month.between(period.start, period.end),
        )
        .group_by(ComplaintCount.nsir_category, ComplaintCount.asb_type)
    )
    return ByCategory({(nsir, kind): int(n) for nsir, kind, n in rows})


async def complaint_stats(
    session: AsyncSession, *, area_id: UUID, date_from: date | None, date_to: date | None
) -> ComplaintStats:
    """Totals and breakdowns of the months from `date_from`'s to `date_to`'s."""
    query = select(ComplaintCount).where(ComplaintCount.area_id == area_id)
    districts = select(
        ComplaintDistrictCount.postcode_district, ComplaintDistrictCount.complaints
    ).where(ComplaintDistrictCount.area_id == area_id)
    if date_from is not None:
        query = query.where(ComplaintCount.month >= date_from.replace(day=1))
        districts = districts.where(ComplaintDistrictCount.month >= date_from.replace(day=1))
    if date_to is not None:
        query = query.where(ComplaintCount.month <= date_to)
        districts = districts.where(ComplaintDistrictCount.month <= date_to)
    cells = list(await session.scalars(query))
    totals: dict[str, Counter[str]] = {
        k: Counter() for k in ("month", "type", "category", "agency", "channel", "district")
    }
    for cell in cells:
        totals["month"][cell.month.strftime("%Y-%m")] += cell.complaints
        totals["type"][cell.asb_type] += cell.complaints
        totals["category"][cell.nsir_category] += cell.complaints
        totals["agency"][str(cell.agency_id)] += cell.complaints
        totals["channel"][cell.channel] += cell.complaints
    for district, complaints in await session.execute(districts):
        totals["district"][district] += complaints
    return ComplaintStats(
        area_id=area_id,
        total=sum(c.complaints for c in cells),
        by_month=dict(sorted(totals["month"].items())),
        by_type=dict(sorted(totals["type"].items())),
        by_category=dict(sorted(totals["category"].items())),
        by_agency=dict(sorted(totals["agency"].items())),
        by_channel=dict(sorted(totals["channel"].items())),
        by_postcode_district=dict(sorted(totals["district"].items())),
        hate_motivated=sum(c.complaints for c in cells if c.hate_motivated),
    )
