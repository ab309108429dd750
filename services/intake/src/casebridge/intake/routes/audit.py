"""`GET /audit/access`: who read the records the caller's agency controls (its DPO)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ColumnElement, and_, select

from casebridge.common.access_audit import access_audit_router
from casebridge.intake.models import Complaint, access_record


def _logs_it_recorded_on(agency_id: UUID) -> ColumnElement[bool]:
    """A complaint log is controlled by every agency that recorded a complaint on it."""
    return and_(
        access_record.c.record_type == "person",
        access_record.c.record_id.in_(
            select(Complaint.person_id).where(Complaint.receiving_agency_id == agency_id)
        ),
    )


router = access_audit_router(
    access_record, scope="complaints:read", controlled=_logs_it_recorded_on
)
