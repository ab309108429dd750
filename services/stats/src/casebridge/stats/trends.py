"""Monthly series with their trends (month on month, year on year), a page of months at a
time: the analysts' view of one measure of their own area."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.errors import AppError
from casebridge.stats.models import Area
from casebridge.stats.monthly import MEASURES, Measure, Values
from casebridge.stats.periods import add_months, month_label, month_start, parse_month
from casebridge.stats.schemas import AreaRead, MonthlyQuery, MonthlyReport, Series, TrendPoint


class BadQuery(AppError):
    """A query the measure cannot answer: said like a request validation error."""

    status_code = 422
    code = "validation_error"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__([{"field": f"query.{field}", "reason": reason}])


def measure_of(name: str, query: MonthlyQuery) -> Measure:
    measure = MEASURES.get(name)
    if measure is None:
        raise BadQuery("measure", f"unknown measure; one of {', '.join(MEASURES)}")
    if query.by not in measure.breakdowns:
        raise BadQuery("by", f"{name} breaks down by {', '.join(measure.breakdowns)}")
    unknown = set(query.filters()) - measure.filters
    if query.by == "postcode_district" and query.filters():
        unknown = set(query.filters())
    if unknown:
        allowed = ", ".join(sorted(measure.filters)) if query.by != "postcode_district" else ""
        raise BadQuery(
            sorted(unknown)[0], f"not a filter of {name} by {query.by} (filters: {allowed or '-'})"
        )
    return measure


def _change(now: float | None, then: float | None) -> tuple[float | None, float | None]:
    if now is None or then is None:
        return None, None
    change = round(now - then, 4)
    return change, (round(change / then * 100, 1) if then else None)


def _series(values: Values, months: list[date], unit: str, by: str) -> list[Series]:
    keys = sorted({key for key, _ in values}) or (["all"] if by == "total" else [])
    empty = 0.0 if unit == "count" else None
    series = []
    for key in keys:
        points = []
        for month in months:
            value, base = values.get((key, month), (empty, None))
            before = values.get((key, add_months(month, -1)), (empty, None))[0]
            last_year = values.get((key, add_months(month, -12)), (empty, None))[0]
            mom, mom_pct = _change(value, before)
            yoy, yoy_pct = _change(value, last_year)
            points.append(
                TrendPoint(
                    month=month_label(month),
                    value=value,
                    base=base,
                    previous_month=before,
                    change_month_on_month=mom,
                    percent_change_month_on_month=mom_pct,
                    same_month_last_year=last_year,
                    change_year_on_year=yoy,
                    percent_change_year_on_year=yoy_pct,
                )
            )
        series.append(Series(key=key, points=points))
    return series


def _filters(query: MonthlyQuery) -> dict[str, str]:
    return {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in query.filters().items()
    }


def _page(name: str, query: MonthlyQuery, last: date) -> str:
    params = {"by": query.by, "to": month_label(last), "months": str(query.months)}
    params |= _filters(query)
    if query.format is not None:
        params["format"] = query.format.value
    return f"/stats/monthly/{name}?{urlencode(params)}"


async def monthly_report(
    session: AsyncSession, *, area: Area, name: str, query: MonthlyQuery, today: date
) -> MonthlyReport:
    """`query.months` months up to `query.to`, each with the month before and the same
    month a year before (fetched too, so the first month's trends are known)."""
    measure = measure_of(name, query)
    current = month_start(today)
    last = parse_month(query.to) if query.to else current
    first = add_months(last, 1 - query.months)
    values = await measure.fetch(
        session, area.area_id, add_months(first, -12), last, query.by, query.filters()
    )
    months = [add_months(first, i) for i in range(query.months)]
    return MonthlyReport(
        area=AreaRead(id=area.area_id, code=area.code),
        measure=name,
        description=measure.description,
        unit=measure.unit,
        by=query.by,
        filters=_filters(query),
        months=[month_label(m) for m in months],
        series=_series(values, months, measure.unit, query.by),
        previous_page=_page(name, query, add_months(first, -1)),
        next_page=(_page(name, query, add_months(last, query.months)) if last < current else None),
    )
