"""Changes to a logged complaint: corrections, consent, a recorded sharing override."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import ComplaintUpdated, ConsentChanged
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.intake.complaints import get_complaint
from casebridge.intake.errors import NotReceivingAgency
from casebridge.intake.models import Complaint
from casebridge.intake.schemas.complaints import ComplaintUpdate, ConsentChange, SharingOverride


async def _own_complaint(
    session: AsyncSession, principal: Principal, complaint_id: UUID
) -> Complaint:
    """Consent and overrides belong to the agency that took the complaint."""
    complaint = await get_complaint(session, principal=principal, complaint_id=complaint_id)
    if complaint.receiving_agency_id != principal.agency_id:
        raise NotReceivingAgency("complaint not found")
    return complaint


def _updated_event(complaint: Complaint, changed: list[str]) -> ComplaintUpdated:
    return ComplaintUpdated(
        complaint_id=complaint.id,
        reference=complaint.reference,
        area_id=complaint.area_id,
        receiving_agency_id=complaint.receiving_agency_id,
        person_id=complaint.person_id,
        changed=changed,
        status=complaint.status,
        nsir_category=complaint.nsir_category,
        asb_type=complaint.asb_type,
        hate_motivated=complaint.hate_motivated,
        shared_by_override=complaint.share_override_at is not None,
        updated_at=complaint.updated_at,
    )


async def update_complaint(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID, data: ComplaintUpdate
) -> Complaint:
    """The receiving agency corrects its complaint; an event names the fields changed."""
    complaint = await _own_complaint(session, principal, complaint_id)
    changed = []
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None and getattr(complaint, field) != value:
            setattr(complaint, field, value)
            changed.append(field)
    if changed:
        complaint.updated_at = utcnow()
        await session.flush()
        event = _updated_event(complaint, changed)
        outbox.add(session, event, area_id=complaint.area_id, aggregate_id=complaint.id)
    return complaint


async def change_consent(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID, data: ConsentChange
) -> Complaint:
    """Consent to share is the victim's, recorded with its time by the receiving agency."""
    complaint = await _own_complaint(session, principal, complaint_id)
    previous = complaint.consent_status
    if previous == data.status:
        return complaint
    now = utcnow()
    complaint.consent_status = data.status
    complaint.consent_recorded_at = data.recorded_at or now
    complaint.updated_at = now
    await session.flush()
    event = ConsentChanged(
        complaint_id=complaint.id,
        person_id=complaint.person_id,
        receiving_agency_id=complaint.receiving_agency_id,
        consent_to_share=data.status,
        previous=previous,
        recorded_at=complaint.consent_recorded_at,
    )
    outbox.add(session, event, area_id=complaint.area_id, aggregate_id=complaint.id)
    return complaint


async def record_override(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID, data: SharingOverride
) -> Complaint:
    """Share with the area's partners without consent, for risk of harm: who, when, why."""
    complaint = await _own_complaint(session, principal, complaint_id)
    now = utcnow()
    complaint.share_override_reason = data.justification
    complaint.share_override_by = principal.subject
    complaint.share_override_at = now
    complaint.updated_at = now
    await session.flush()
    event = _updated_event(complaint, ["sharing_override"])
    outbox.add(session, event, area_id=complaint.area_id, aggregate_id=complaint.id)
    return complaint
