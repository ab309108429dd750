"""`GET /audit/access`: who read the records the caller's agency controls (its DPO)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ColumnElement, and_, select

from casebridge.common.access_audit import access_audit_router
from casebridge.review.models import IndexedComplaint, Trigger, access_record


def _triggers_of_its_complaints(agency_id: UUID) -> ColumnElement[bool]:
    """A trigger is controlled by every agency whose complaints it counts."""
    counted = select(Trigger.id).join(
        IndexedComplaint, IndexedComplaint.complaint_id == Trigger.complaint_ids.any_()
    )
    return and_(
        access_record.c.record_type == "trigger",
        access_record.c.record_id.in_(
            counted.where(IndexedComplaint.receiving_agency_id == agency_id)
        ),
    )


router = access_audit_router(
    access_record, scope="reviews:read", controlled=_triggers_of_its_complaints
)
