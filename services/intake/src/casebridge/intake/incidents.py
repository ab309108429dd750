"""Incidents: complaints to several agencies about one incident count once."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import IncidentLinked, IncidentUnlinked
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.intake.complaint_reads import get_complaint
from casebridge.intake.config import DuplicateRule
from casebridge.intake.errors import AlreadyInIncident
from casebridge.intake.models import Complaint, Incident
from casebridge.intake.visibility import (
    Seen,
    complaint_shows,
    seen_complaints,
    visible_complaints,
)


async def link_complaint(
    session: AsyncSession, *, viewer: Viewer, complaint_id: UUID, to_complaint_id: UUID
) -> Seen[Complaint]:
    """Move a complaint into the incident of another (both visible to the caller)."""
    complaint = await get_complaint(session, viewer=viewer, complaint_id=complaint_id)
    other = await get_complaint(session, viewer=viewer, complaint_id=to_complaint_id)
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
    (seen,) = await seen_complaints(session, viewer, [complaint])
    return seen


async def unlink_complaint(
    session: AsyncSession, *, viewer: Viewer, complaint_id: UUID
) -> Seen[Complaint]:
    """Take a complaint out of a shared incident: it becomes its own incident again."""
    complaint = await get_complaint(session, viewer=viewer, complaint_id=complaint_id)
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
    (seen,) = await seen_complaints(session, viewer, [complaint])
    return seen


async def suggest_duplicates(
    session: AsyncSession, *, viewer: Viewer, complaint_id: UUID, rule: DuplicateRule
) -> list[Seen[Complaint]]:
    """Likely the same incident: same complainant, type and place (postcode or UPRN),
    within the area's window, not already linked; only complaints the caller may see, and
    matched only on what it may see of both (a suggestion must not tell who complained)."""
    complaint = await get_complaint(
        session, viewer=viewer, complaint_id=complaint_id, details=False
    )
    (anchor,) = await seen_complaints(session, viewer, [complaint])
    if complaint.person_id is None or not anchor.decision.shows("person_id"):
        return []
    window = timedelta(hours=rule.window_hours)
    place = []
    if complaint.postcode and anchor.decision.shows("postcode"):
        place.append(
            and_(Complaint.postcode == complaint.postcode, complaint_shows(viewer, "postcode"))
        )
    if complaint.uprn and anchor.decision.shows("uprn"):
        place.append(and_(Complaint.uprn == complaint.uprn, complaint_shows(viewer, "uprn")))
    if not place:
        return []
    statement = (
        visible_complaints(viewer)
        .where(
            Complaint.person_id == complaint.person_id,
            complaint_shows(viewer, "person_id"),
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
    return await seen_complaints(session, viewer, list(await session.scalars(statement)))
