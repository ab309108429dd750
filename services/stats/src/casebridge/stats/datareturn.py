"""The quarterly data return for the Home Office and the Police and Crime Commissioner: per
area and quarter of the financial year, the four Case Review counts and the complaints by
NSIR qualifier and type, in one long table of fixed shape (docs/stats.md lists the
columns). Not suppressed: it goes to the bodies entitled to the figures, not the public."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.stats.casereviews import STATUTORY, period_totals
from casebridge.stats.complaints import by_category
from casebridge.stats.models import Area
from casebridge.stats.periods import Period, financial_year, quarter
from casebridge.stats.schemas import DataReturnRow

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
    found = await by_category(session, area_id=area.area_id, period=period)
    for nsir in found.qualifiers:
        rows += [("complaints", nsir, kind, found.count(nsir, kind)) for kind in found.types]
        rows.append(("complaints", nsir, ALL, sum(found.count(nsir, k) for k in found.types)))
    rows += [
        ("complaints", ALL, kind, sum(found.count(n, kind) for n in found.qualifiers))
        for kind in found.types
    ]
    rows.append(("complaints", ALL, ALL, sum(found.cells.values())))
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
