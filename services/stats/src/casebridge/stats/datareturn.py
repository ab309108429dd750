"""The quarterly data return for the Home Office and the Police and Crime Commissioner: per
area and quarter of the financial year, the four Case Review counts and the complaints by
NSIR qualifier and type, in one long table of fixed shape (docs/stats.md lists the
columns). Not suppressed: it goes to the bodies entitled to the figures, not the public."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.stats.casereviews import STATUTORY, period_totals
from casebridge.stats.models import Area, ComplaintCount
from casebridge.stats.periods import Period, financial_year, quarter
from casebridge.stats.schemas import DataReturnRow

# The National Standard for Incident Recording qualifiers, and the types intake records
# (the Metropolitan Police's 13 headings, plus other): every return has every row.
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
ALL = "all"
COLUMNS: dict[str, str] = {
    "area_code": "the area's code (e.g. DMO)",
    "area_id": "the area's id in Casebridge",
    "financial_year": "e.g. 2025-26 (1 April 2025 to 31 March 2026)",
    "quarter": "Q1 (April-June), Q2 (July-September), Q3 (October-December), Q4 (January-March)",
    "period_start": "first day of the quarter (YYYY-MM-DD)",
    "period_end": "last day of the quarter (YYYY-MM-DD)",
    "measure": "applications, threshold_not_met, reviews_carried_out, "
    "reviews_with_recommendations, or complaints",
    "nsir_category": "for complaints: personal, nuisance, environmental, or all",
    "asb_type": "for complaints: the type of ASB, or all",
    "value": "the count (every event counted on its date in Europe/London)",
}


def last_complete_quarter(today: date) -> Period:
    return quarter(quarter(today).start - timedelta(days=1))


async def data_return(session: AsyncSession, *, area: Area, period: Period) -> list[DataReturnRow]:
    series = await period_totals(
        session, area_id=area.area_id, measures=[m for m, _ in STATUTORY.values()], periods=[period]
    )
    rows = [
        (name, ALL, ALL, series.total(measure, period)) for name, (measure, _) in STATUTORY.items()
    ]
    counted = await session.execute(
        select(
            ComplaintCount.nsir_category,
            ComplaintCount.asb_type,
            func.sum(ComplaintCount.complaints),
        )
        .where(
            ComplaintCount.area_id == area.area_id,
            ComplaintCount.month.between(period.start, period.end),
        )
        .group_by(ComplaintCount.nsir_category, ComplaintCount.asb_type)
    )
    cells: Counter[tuple[str, str]] = Counter()
    for nsir, kind, value in counted:
        cells[(nsir, kind)] += int(value)
    qualifiers = [*NSIR_QUALIFIERS, *sorted({n for n, _ in cells} - set(NSIR_QUALIFIERS))]
    kinds = [*ASB_TYPES, *sorted({k for _, k in cells} - set(ASB_TYPES))]
    for nsir in qualifiers:
        rows += [("complaints", nsir, kind, cells[(nsir, kind)]) for kind in kinds]
        rows.append(("complaints", nsir, ALL, sum(cells[(nsir, k)] for k in kinds)))
    rows += [("complaints", ALL, kind, sum(cells[(n, kind)] for n in qualifiers)) for kind in kinds]
    rows.append(("complaints", ALL, ALL, sum(cells.values())))
    year = financial_year(period.start)
    return [
        DataReturnRow(
            area_code=area.code or "",
            area_id=area.area_id,
            financial_year=year.label,
            quarter=period.label.rsplit(" ", 1)[1],
            period_start=period.start,
            period_end=period.end,
            measure=measure,
            nsir_category=nsir,
            asb_type=kind,
            value=value,
        )
        for measure, nsir, kind, value in rows
    ]
