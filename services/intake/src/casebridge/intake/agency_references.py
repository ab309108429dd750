"""Agencies' own references added to a complaint after it was logged: the police attach a
CAD or crime number hours after the council took the call."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import AgencyReference as AgencyReferenceData
from casebridge.common.contracts.intake import ComplaintReferenceAdded
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.intake import normalise
from casebridge.intake.complaint_reads import get_complaint
from casebridge.intake.errors import TooManyReferences
from casebridge.intake.models import AgencyReference, Complaint
from casebridge.intake.visibility import Seen, seen_complaints

MAX_REFERENCES = 20


async def add_reference(
    session: AsyncSession, *, viewer: Viewer, complaint_id: UUID, reference: str
) -> tuple[Seen[Complaint], bool]:
    """Attach the caller's own reference to a complaint it can see (audited: who, when;
    announced). The same reference again from the same agency changes nothing. Returns the
    complaint as the caller may see it, and whether the reference is new."""
    principal = viewer.principal
    assert principal is not None
    complaint = await get_complaint(session, viewer=viewer, complaint_id=complaint_id)
    norm = normalise.reference(reference)
    existing = complaint.agency_references
    if any(r.agency_id == principal.agency_id and r.reference_norm == norm for r in existing):
        (seen,) = await seen_complaints(session, viewer, [complaint])
        return seen, False
    if len(existing) >= MAX_REFERENCES:
        raise TooManyReferences(f"a complaint holds at most {MAX_REFERENCES} agency references")
    now = utcnow()
    added = AgencyReference(
        complaint_id=complaint.id,
        agency_id=principal.agency_id,
        reference=reference,
        reference_norm=norm,
        added_by=principal.subject,
        added_at=now,
    )
    session.add(added)
    existing.append(added)
    complaint.updated_at = now
    await session.flush()
    event = _added_event(complaint, added)
    outbox.add(session, event, area_id=complaint.area_id, aggregate_id=complaint.id)
    (seen,) = await seen_complaints(session, viewer, [complaint])
    return seen, True


def _added_event(complaint: Complaint, added: AgencyReference) -> ComplaintReferenceAdded:
    return ComplaintReferenceAdded(
        complaint_id=complaint.id,
        reference=complaint.reference,
        area_id=complaint.area_id,
        receiving_agency_id=complaint.receiving_agency_id,
        person_id=complaint.person_id,
        agency_reference=AgencyReferenceData(agency_id=added.agency_id, reference=added.reference),
        added_at=added.added_at,
        consent_to_share=complaint.consent_status,
        override_purposes=list(complaint.override_purposes),
        perpetrator_landlord_ids=sorted(
            {p.landlord_agency_id for p in complaint.perpetrators if p.landlord_agency_id}
        ),
    )
