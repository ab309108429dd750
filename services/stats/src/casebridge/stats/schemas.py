from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from casebridge.common.schemas import QueryParams


class ComplaintStatsQuery(QueryParams):
    date_from: date | None = Field(default=None, description="First month counted (inclusive)")
    date_to: date | None = Field(default=None, description="Last day counted (inclusive)")


class ComplaintStats(BaseModel):
    """Counts for the caller's area. No personal data."""

    area_id: UUID
    total: int
    by_month: dict[str, int]
    by_type: dict[str, int]
    by_category: dict[str, int]
    by_agency: dict[str, int]
    by_channel: dict[str, int]
    hate_motivated: int
