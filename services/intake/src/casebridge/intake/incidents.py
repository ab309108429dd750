"""Incidents: complaints to several agencies about one incident count once."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import IncidentLinked, IncidentUnlinked
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.intake.complaints import get_complaint
from casebridge.intake.config import DuplicateRule
from casebridge.intake.errors import AlreadyInIncident
from casebridge.intake.models import Complaint, Incident
from casebridge.intake.visibility import visible_complaints


async def link_complaint(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID, to_complaint_id: UUID
) -> Complaint:
    """Move a complaint into the incident of another (both visible to the caller)."""
    complaint = await get_complaint(session, principal=principal, complaint_id=complaint_id)
    other = await get_complaint(session, principal=principal, complaint_id=to_complaint_id)
    if complaint.incident_id == other.incident_id:
        raise AlreadyInIncident("the complaints already describe the same incident")
    previous = complaint.incident_id
    now = utcnow()
    complaint.incident_id = other.incident_id
    complaint.updated_at = now
    await session.flush()
    event = IncidentLinked(
        complaint_id=complaint.id,
        incident_id=other.incident_id,
        previous_incident_id=previous,
        linked_at=now,
    )
    outbox.add(session, event, area_id=complaint.area_id, aggregate_id=other.incident_id)
    return complaint


async def unlink_complaint(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID
) -> Complaint:
    """Take a complaint out of a shared incident: it becomes its own incident again."""
    complaint = await get_complaint(session, principal=principal, complaint_id=complaint_id)
    sharing = await session.scalar(
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.incident_id == complaint.incident_id, Complaint.id != complaint.id)
    )
    if not sharing:
        raise AlreadyInIncident("the complaint is already its own incident")
    previous = complaint.incident_id
    incident = Incident(area_id=complaint.area_id)
    session.add(incident)
    await session.flush()
    now = utcnow()
    complaint.incident_id = incident.id
    complaint.updated_at = now
    await session.flush()
    event = IncidentUnlinked(
        complaint_id=complaint.id,
        incident_id=incident.id,
        previous_incident_id=previous,
        unlinked_at=now,
    )
    outbox.add(session, event, area_id=complaint.area_id, aggregate_id=previous)
    return complaint


async def suggest_duplicates(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID, rule: DuplicateRule
) -> list[Complaint]:
    """Likely the same incident: same complainant, type and place (postcode or UPRN),
    within the area's window, not already linked; only complaints the caller may see."""
    complaint = await get_complaint(
        session, principal=principal, complaint_id=complaint_id, details=False
    )
    if complaint.person_id is None:
        return []
    window = timedelta(hours=rule.window_hours)
    place = []
    if complaint.postcode:
        place.append(Complaint.postcode == complaint.postcode)
    if complaint.uprn:
        place.append(Complaint.uprn == complaint.uprn)
    if not place:
        return []
    statement = (
        visible_complaints(principal)
        .where(
            Complaint.person_id == complaint.person_id,
            Complaint.id != complaint.id,
            Complaint.incident_id != complaint.incident_id,
            Complaint.asb_type == complaint.asb_type,
            or_(*place),
            Complaint.occurred_at.between(
                complaint.occurred_at - window, complaint.occurred_at + window
            ),
        )
        .order_by(Complaint.occurred_at.desc())
        .limit(20)
    )
    return list(await session.scalars(statement))
