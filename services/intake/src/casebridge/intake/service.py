"""Intake's domain functions. They flush, never commit: the boundary owns the transaction."""

from __future__ import annotations

from uuid import UUID

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import utcnow
from casebridge.common.errors import Conflict, NotFound
from casebridge.common.events import outbox
from casebridge.intake.models import REFERENCE_SEQUENCE, Area, Complaint
from casebridge.intake.references import make_reference
from casebridge.intake.schemas import ComplaintCreate
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession


class AreaNotConfigured(Conflict):
    code = "area_not_configured"


def visible_complaints(principal: Principal) -> Select[Complaint]:
    """Who may see which complaint (issue 3 extends it with consent and partners)."""
    return select(Complaint).where(
        Complaint.area_id == principal.area_id,
        Complaint.receiving_agency_id == principal.agency_id,
    )


async def log_complaint(
    session: AsyncSession, *, principal: Principal, data: ComplaintCreate
) -> Complaint:
    """Record a complaint and give it a reference at once; the event commits with it."""
    area = await session.get(Area, principal.area_id)
    if area is None:
        raise AreaNotConfigured(f"area {principal.area_id} is not configured in intake")
    reported_at = data.reported_at or utcnow()
    sequence = await session.scalar(REFERENCE_SEQUENCE.next_value())
    assert sequence is not None
    complaint = Complaint(
        reference=make_reference(area.code, reported_at.year, sequence),
        sequence=sequence,
        area_id=area.id,
        receiving_agency_id=principal.agency_id,
        recorded_by=principal.subject,
        channel=data.channel,
        nsir_category=data.nsir_category,
        asb_type=data.asb_type,
        hate_motivated=data.hate_motivated,
        anonymous=data.anonymous,
        description=data.description,
        postcode=data.postcode.upper() if data.postcode else None,
        occurred_at=data.occurred_at,
        reported_at=reported_at,
    )
    session.add(complaint)
    await session.flush()
    outbox.add(session, _logged_event(complaint), area_id=area.id, aggregate_id=complaint.id)
    return complaint


def _logged_event(complaint: Complaint) -> ComplaintLogged:
    return ComplaintLogged(
        complaint_id=complaint.id,
        reference=complaint.reference,
        area_id=complaint.area_id,
        receiving_agency_id=complaint.receiving_agency_id,
        channel=complaint.channel,
        nsir_category=complaint.nsir_category,
        asb_type=complaint.asb_type,
        hate_motivated=complaint.hate_motivated,
        anonymous=complaint.anonymous,
        occurred_at=complaint.occurred_at,
        reported_at=complaint.reported_at,
        postcode=complaint.postcode,
    )


async def get_complaint(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID
) -> Complaint:
    complaint = await session.scalar(
        visible_complaints(principal).where(Complaint.id == complaint_id)
    )
    if complaint is None:
        raise NotFound("complaint not found")
    return complaint
