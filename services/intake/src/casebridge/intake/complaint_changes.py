"""Changes to a logged complaint: corrections, consent, a recorded sharing override."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import ComplaintUpdated, ConsentChanged
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.intake.complaint_reads import WITH_DETAILS
from casebridge.intake.errors import NotReceivingAgency
from casebridge.intake.models import Complaint, Person, ShareOverride
from casebridge.intake.schemas.complaints import ComplaintUpdate, ConsentChange, SharingOverride
from casebridge.intake.visibility import own_complaints


async def _own_complaint(
    session: AsyncSession, principal: Principal, complaint_id: UUID
) -> Complaint:
    """Corrections, consent and overrides belong to the agency that took the complaint: to
    any other it does not exist (404, not 403)."""
    complaint = await session.scalar(
        own_complaints(principal).where(Complaint.id == complaint_id).options(*WITH_DETAILS)
    )
    if complaint is None:
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
        consent_to_share=complaint.consent_status,
        override_purposes=list(complaint.override_purposes),
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
        override_purposes=list(complaint.override_purposes),
    )
    outbox.add(session, event, area_id=complaint.area_id, aggregate_id=complaint.id)
    await _log_hears(session, complaint)
    return complaint


async def _log_hears(session: AsyncSession, complaint: Complaint) -> None:
    """The log's word on sharing is the latest consent recorded on any of its complaints."""
    if complaint.person_id is None or complaint.consent_recorded_at is None:
        return
    await session.execute(
        update(Person)
        .where(
            Person.id == complaint.person_id,
            (Person.consent_recorded_at.is_(None))
            | (Person.consent_recorded_at <= complaint.consent_recorded_at),
        )
        .values(
            consent_status=complaint.consent_status,
            consent_recorded_at=complaint.consent_recorded_at,
        )
    )


async def record_override(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID, data: SharingOverride
) -> Complaint:
    """Share without (or against) consent for one purpose (risk of harm, an injunction
    application, a case review): who decided, who approved, why. The protocol's rules
    `when: override` (or consent_or_override) for that purpose then apply."""
    complaint = await _own_complaint(session, principal, complaint_id)
    now = utcnow()
    session.add(
        ShareOverride(
            complaint_id=complaint.id,
            purpose=data.purpose,
            justification=data.justification,
            approved_by=data.approved_by,
            recorded_by=principal.subject,
            agency_id=principal.agency_id,
            recorded_at=now,
        )
    )
    complaint.share_override_reason = data.justification
    complaint.share_override_by = principal.subject
    complaint.share_override_at = now
    complaint.override_purposes = sorted({*complaint.override_purposes, data.purpose})
    complaint.updated_at = now
    if complaint.person_id is not None:
        person = await session.get(Person, complaint.person_id)
        if person is not None:
            person.override_purposes = sorted({*person.override_purposes, data.purpose})
    await session.flush()
    event = _updated_event(complaint, ["sharing_override"])
    outbox.add(session, event, area_id=complaint.area_id, aggregate_id=complaint.id)
    return complaint
