"""The public page: no token; the four totals and suppressed breakdowns only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from casebridge.common.db import DbSession
from casebridge.stats import public, visibility
from casebridge.stats.routes.deps import StatsSettings, Today

router = APIRouter(tags=["public"])


@router.get(
    "/public/{area}/case-reviews",
    response_class=HTMLResponse,
    responses={404: {"description": "no figures for this area"}},
)
async def case_reviews_page(
    area: Annotated[
        str,
        Path(
            pattern=public.AREA_KEY,
            description="the area's code (e.g. DMO) or id",
            openapi_examples={"code": {"value": "DMO"}},
        ),
    ],
    session: DbSession,
    settings: StatsSettings,
    today: Today,
) -> HTMLResponse:
    """The published Case Review figures of an area, as a page a council website can link."""
    found = await visibility.public_area(session, area)
    page = await public.public_page(session, area=found, settings=settings, today=today)
    return public.render(page)
