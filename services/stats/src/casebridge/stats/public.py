"""The public page of an area's Case Review figures: the four statutory totals for recent
financial years and quarters (published as they are), a chart, and breakdowns with small
numbers suppressed. Server-rendered HTML; no script, no personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.stats.casereviews import DEFINITIONS, STATUTORY, period_totals, statutory_counts
from casebridge.stats.chart import Chart, bar_chart
from casebridge.stats.complaints import NSIR_QUALIFIERS, by_category
from casebridge.stats.models import Area
from casebridge.stats.periods import Period, PeriodKind, financial_year, recent
from casebridge.stats.schemas import CaseReviewCounts
from casebridge.stats.settings import Settings
from casebridge.stats.suppression import TOTAL, Suppressed, suppress

# Route parameter: an area code (2 to 6 letters) or an area id.
AREA_KEY = (
    r"^([A-Za-z]{2,6}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
PUBLIC_PATHS = frozenset({"/public/{area}/case-reviews"})

SERIES = (
    ("applications", "Applications", "#1d70b8"),
    ("threshold_not_met", "Threshold not met", "#d4351c"),
    ("reviews_carried_out", "Reviews carried out", "#00703c"),
    ("reviews_with_recommendations", "Reviews with recommendations", "#4c2c92"),
)
LABELS = {name: label for name, label, _ in SERIES}
ROUTES = {"applicant": "Applied for", "automatic": "Started by the partners"}
NSIR_LABELS = {q: q.capitalize() for q in NSIR_QUALIFIERS}

_templates = Environment(
    loader=PackageLoader("casebridge.stats", "templates"),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class PublicPage:
    area_name: str
    area_code: str
    apply_url: str | None
    years: list[CaseReviewCounts]
    quarters: list[CaseReviewCounts]
    chart: Chart
    routes: Suppressed
    complaints: Suppressed
    complaints_year: Period
    suppress_below: int


def _humanise(key: str) -> str:
    return key.replace("_", " ").capitalize()


async def _complaints_by_type(
    session: AsyncSession, area: Area, year: Period, below: int
) -> Suppressed:
    found = await by_category(session, area_id=area.area_id, period=year)
    cells = {(kind, nsir): n for (nsir, kind), n in found.cells.items()}
    return suppress(cells, found.types, found.qualifiers, below=below)


async def public_page(
    session: AsyncSession, *, area: Area, settings: Settings, today: date
) -> PublicPage:
    years = recent(PeriodKind.financial_year, today, settings.public_years)
    quarters = recent(PeriodKind.quarter, today, settings.public_quarters)
    measures = [m for m, _ in STATUTORY.values()] + ["application_route"]
    series = await period_totals(
        session, area_id=area.area_id, measures=measures, periods=years + quarters
    )
    year_rows = [statutory_counts(series, p, today) for p in years]
    chart = bar_chart(
        [row.period for row in year_rows],
        [(label, colour) for _, label, colour in SERIES],
        [[getattr(row, name) for name, _, _ in SERIES] for row in year_rows],
    )
    route_cells = {
        (p.label, route): series.total("application_route", p, route)
        for p in years
        for route in ROUTES
    }
    # The applications per year are statutory totals, published as they are.
    fixed = {(p.label, TOTAL) for p in years} | {(TOTAL, TOTAL)}
    routes = suppress(
        route_cells,
        [p.label for p in years],
        list(ROUTES),
        below=settings.suppress_below,
        fixed=fixed,
    )
    last_complete = financial_year(years[-1].start - timedelta(days=1))
    code = area.code or str(area.area_id)
    return PublicPage(
        area_name=settings.area_names.get(code, f"Area {code}"),
        area_code=code,
        apply_url=settings.apply_urls.get(code),
        years=year_rows,
        quarters=[statutory_counts(series, p, today) for p in quarters],
        chart=chart,
        routes=routes,
        complaints=await _complaints_by_type(session, area, last_complete, settings.suppress_below),
        complaints_year=last_complete,
        suppress_below=settings.suppress_below,
    )


def render(page: PublicPage) -> HTMLResponse:
    context: dict[str, Any] = {
        "page": page,
        "series": SERIES,
        "labels": LABELS,
        "definitions": DEFINITIONS,
        "routes": ROUTES,
        "nsir_labels": NSIR_LABELS,
        "humanise": _humanise,
        "TOTAL": TOTAL,
    }
    html = _templates.get_template("case_reviews.html").render(context)
    return HTMLResponse(
        html,
        headers={
            "cache-control": "public, max-age=300",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        },
    )
