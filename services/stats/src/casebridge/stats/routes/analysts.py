"""Analysts' routes: the caller's own area only (scope stats:read), JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from casebridge.common.db import DbSession
from casebridge.stats import casereviews, complaints, datareturn, trends, visibility
from casebridge.stats.monthly import MEASURES
from casebridge.stats.periods import parse_quarter
from casebridge.stats.routes.deps import CanReadStats, Today
from casebridge.stats.schemas import (
    CaseReviewQuery,
    CaseReviewReport,
    ComplaintStats,
    ComplaintStatsQuery,
    DataReturn,
    DataReturnQuery,
    MonthlyQuery,
    MonthlyReport,
)
from casebridge.stats.tables import csv_openapi, csv_response, json_response, wants_csv

router = APIRouter(tags=["statistics"])

CASE_REVIEW_COLUMNS = [
    "area_code",
    "area_id",
    "period",
    "start",
    "end",
    "complete",
    *list(casereviews.STATUTORY),
]
MONTHLY_COLUMNS = [
    "area_code", "measure", "unit", "by", "key", "month", "value", "base", "previous_month",
    "change_month_on_month", "percent_change_month_on_month", "same_month_last_year",
    "change_year_on_year", "percent_change_year_on_year",
]  # fmt: skip
CASE_REVIEW_CSV = (
    "area_code,area_id,period,start,end,complete,applications,threshold_not_met,"
    "reviews_carried_out,reviews_with_recommendations\r\n"
    "DMO,0192f0a0-0000-7000-8000-00000000a001,2025-26,2025-04-01,2026-03-31,true,14,3,9,8\r\n"
)
MEASURE_PATH = Path(
    pattern=f"^({'|'.join(MEASURES)})$",
    description="; ".join(f"`{name}`: {m.description}" for name, m in MEASURES.items()),
    openapi_examples={
        "complaints": {"summary": "complaints by type", "value": "complaints"},
        "threshold_met_rate": {"summary": "share of thresholds met", "value": "threshold_met_rate"},
    },
)


@router.get("/stats/complaints", response_model=ComplaintStats)
async def complaint_stats(
    query: Annotated[ComplaintStatsQuery, Query()], session: DbSession, who: CanReadStats
) -> ComplaintStats:
    """Complaints logged in the caller's area, with breakdowns (by month in Europe/London)."""
    return await complaints.complaint_stats(
        session, area_id=who.area_id, date_from=query.date_from, date_to=query.date_to
    )


@router.get(
    "/stats/case-reviews", response_model=CaseReviewReport, responses=csv_openapi(CASE_REVIEW_CSV)
)
async def case_review_counts(
    query: Annotated[CaseReviewQuery, Query()],
    request: Request,
    session: DbSession,
    who: CanReadStats,
    today: Today,
) -> Any:
    """The four counts the law requires (s104(10)) for the caller's area, per financial year,
    quarter, calendar year, month or date range; each count's definition is in the answer."""
    area = await visibility.own_area(session, who)
    periods = casereviews.choose_periods(query.period, query.date_from, query.date_to, today)
    report = await casereviews.case_review_report(
        session, area=area, kind=query.period, periods=periods, today=today
    )
    if not wants_csv(request, query.format):
        return json_response(report)
    rows = [
        {"area_code": area.code, "area_id": area.area_id, **row.model_dump()} for row in report.rows
    ]
    return csv_response(CASE_REVIEW_COLUMNS, rows, filename="case-reviews.csv")


@router.get(
    "/stats/monthly/{measure}",
    response_model=MonthlyReport,
    responses=csv_openapi(
        "area_code,measure,unit,by,key,month,value,...\r\nDMO,complaints,count,asb_type,noise,"
        "2026-03,42,,38,4,10.5,51,-9,-17.6\r\n"
    ),
)
async def monthly(
    measure: Annotated[str, MEASURE_PATH],
    query: Annotated[MonthlyQuery, Query()],
    request: Request,
    session: DbSession,
    who: CanReadStats,
    today: Today,
) -> Any:
    """One measure of the caller's area month by month, broken down (`by`) and filtered,
    with month-on-month and year-on-year changes; a page of `months` months up to `to`, with
    links to the pages before and after."""
    area = await visibility.own_area(session, who)
    report = await trends.monthly_report(session, area=area, name=measure, query=query, today=today)
    if not wants_csv(request, query.format):
        return json_response(report)
    head = {"area_code": area.code, "measure": measure, "unit": report.unit, "by": report.by}
    rows = [
        {**head, "key": series.key, **point.model_dump()}
        for series in report.series
        for point in series.points
    ]
    return csv_response(MONTHLY_COLUMNS, rows, filename=f"{measure}.csv")


@router.get(
    "/stats/data-return",
    response_model=DataReturn,
    responses=csv_openapi(
        "area_code,area_id,financial_year,quarter,period_start,period_end,measure,"
        "nsir_category,asb_type,value\r\nDMO,0192f0a0-0000-7000-8000-00000000a001,2025-26,Q1,"
        "2025-04-01,2025-06-30,applications,all,all,4\r\n"
    ),
)
async def data_return(
    query: Annotated[DataReturnQuery, Query()],
    request: Request,
    session: DbSession,
    who: CanReadStats,
    today: Today,
) -> Response | DataReturn:
    """The quarterly return to the Home Office and the PCC for the caller's area: the four
    counts and complaints by NSIR qualifier and type (columns: docs/stats.md)."""
    area = await visibility.own_area(session, who)
    period = (
        parse_quarter(query.quarter) if query.quarter else datareturn.last_complete_quarter(today)
    )
    rows = await datareturn.data_return(session, area=area, period=period)
    if not wants_csv(request, query.format):
        return DataReturn(columns=datareturn.COLUMNS, rows=rows)
    return csv_response(
        list(datareturn.COLUMNS),
        [row.model_dump() for row in rows],
        filename=f"data-return-{area.code or area.area_id}-{period.label.replace(' ', '-')}.csv",
    )
