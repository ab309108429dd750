"""Counting complaints: applied from intake's events, read by analysts."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.stats.models import ComplaintCount
from casebridge.stats.schemas import ComplaintStats


async def count_complaint(session: AsyncSession, event: ComplaintLogged) -> None:
    """One complaint adds one to its cell; the inbox makes redelivery a no-op."""
    values = {
        "area_id": event.area_id,
        "month": event.reported_at.date().replace(day=1),
        "agency_id": event.receiving_agency_id,
        "asb_type": event.asb_type,
        "nsir_category": event.nsir_category,
        "channel": event.channel,
        "hate_motivated": event.hate_motivated,
        "complaints": 1,
    }
    statement = insert(ComplaintCount).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                ComplaintCount.area_id,
                ComplaintCount.month,
                ComplaintCount.agency_id,
                ComplaintCount.asb_type,
                ComplaintCount.nsir_category,
                ComplaintCount.channel,
                ComplaintCount.hate_motivated,
            ],
            set_={"complaints": ComplaintCount.complaints + 1},
        )
    )


async def complaint_stats(
    session: AsyncSession, *, principal: Principal, date_from: date | None, date_to: date | None
) -> ComplaintStats:
    """Counts for the caller's own area only."""
    query = select(ComplaintCount).where(ComplaintCount.area_id == principal.area_id)
    if date_from is not None:
        query = query.where(ComplaintCount.month >= date_from.replace(day=1))
    if date_to is not None:
        query = query.where(ComplaintCount.month <= date_to)
    cells = list(await session.scalars(query))
    totals: dict[str, Counter[str]] = {
        k: Counter() for k in ("month", "type", "category", "agency", "channel")
    }
    for cell in cells:
        totals["month"][cell.month.strftime("%Y-%m")] += cell.complaints
        totals["type"][cell.asb_type] += cell.complaints
        totals["category"][cell.nsir_category] += cell.complaints
        totals["agency"][str(cell.agency_id)] += cell.complaints
        totals["channel"][cell.channel] += cell.complaints
    return ComplaintStats(
        area_id=principal.area_id,
        total=sum(c.complaints for c in cells),
        by_month=dict(sorted(totals["month"].items())),
        by_type=dict(totals["type"]),
        by_category=dict(totals["category"]),
        by_agency=dict(totals["agency"]),
        by_channel=dict(totals["channel"]),
        hate_motivated=sum(c.complaints for c in cells if c.hate_motivated),
    )
