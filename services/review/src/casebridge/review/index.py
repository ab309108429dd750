"""The qualifying-complaint index: built from intake's events, read by the trigger rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.review.config import AreaRules
from casebridge.review.dates import add_months
from casebridge.review.models import IndexedComplaint


def place_key(postcode: str | None) -> str | None:
    """Postcodes compare without spaces or case ("sw1a 1aa" is "SW1A1AA")."""
    if not postcode:
        return None
    key = "".join(postcode.split()).upper()
    return key[:10] or None


def qualifies(occurred_at: datetime, reported_at: datetime, rules: AreaRules) -> bool:
    """A qualifying complaint is made within one month of the behaviour (s104(13))."""
    return reported_at <= add_months(occurred_at, rules.statutory.qualifying_months)


async def index_complaint(
    session: AsyncSession, event: ComplaintLogged, rules: AreaRules
) -> IndexedComplaint | None:
    """Record the complaint once; returns the row, or None when it was already indexed."""
    values = {
        "complaint_id": event.complaint_id,
        "reference": event.reference,
        "area_id": event.area_id,
        "receiving_agency_id": event.receiving_agency_id,
        "person_id": event.person_id,
        "incident_id": event.incident_id,
        "nsir_category": event.nsir_category,
        "asb_type": event.asb_type,
        "place_key": place_key(event.postcode),
        "perpetrator_keys": sorted({k for k in event.perpetrator_keys if k})[:50],
        "hate_motivated": event.hate_motivated,
        "anonymous": event.anonymous,
        "occurred_at": event.occurred_at,
        "reported_at": event.reported_at,
        "qualifies": qualifies(event.occurred_at, event.reported_at, rules),
    }
    inserted = await session.scalar(
        insert(IndexedComplaint)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["complaint_id"])
        .returning(IndexedComplaint)
    )
    return inserted
