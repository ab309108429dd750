from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from casebridge.common.auth import Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.stats import service
from casebridge.stats.schemas import ComplaintStats, ComplaintStatsQuery

router = APIRouter(tags=["statistics"])

CanReadStats = Annotated[Principal, Scoped("stats:read")]


@router.get("/stats/complaints", response_model=ComplaintStats)
async def complaint_stats(
    query: Annotated[ComplaintStatsQuery, Query()], session: DbSession, who: CanReadStats
) -> ComplaintStats:
    """Complaints logged in the caller's area, with breakdowns."""
    return await service.complaint_stats(
        session, principal=who, date_from=query.date_from, date_to=query.date_to
    )
