"""Reads of complaints: by id, by any reference (Casebridge's or an agency's), and what a
read shows beside the row (the latest risk band, the complainant's vulnerability)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casebridge.common.isp import Viewer
from casebridge.intake import normalise
from casebridge.intake.errors import ComplaintNotFound
from casebridge.intake.models import AgencyReference, Complaint, Person, RiskAssessment
from casebridge.intake.references import looks_like_reference
from casebridge.intake.visibility import (
    Seen,
    complaint_shows,
    seen_complaints,
    visible_complaints,
)

WITH_DETAILS = (
    selectinload(Complaint.agency_references),
    selectinload(Complaint.perpetrators),
    selectinload(Complaint.witnesses),
)


async def get_complaint(
    session: AsyncSession, *, viewer: Viewer, complaint_id: UUID, details: bool = True
) -> Complaint:
    statement = visible_complaints(viewer).where(Complaint.id == complaint_id)
    if details:
        statement = statement.options(*WITH_DETAILS)
    complaint = await session.scalar(statement)
    if complaint is None:
        raise ComplaintNotFound("complaint not found")
    return complaint


async def read_complaint(
    session: AsyncSession, *, viewer: Viewer, complaint_id: UUID
) -> Seen[Complaint]:
    """A complaint and what the caller may see of it."""
    complaint = await get_complaint(session, viewer=viewer, complaint_id=complaint_id)
    (seen,) = await seen_complaints(session, viewer, [complaint])
    return seen


def by_reference_statement(viewer: Viewer, value: str) -> Select[Complaint]:
    """A Casebridge reference, or any agency's reference (police, council, housing): an
    agency's reference finds only complaints whose references the caller may see, or
    that the caller attached itself (its own reference, whatever the protocol says)."""
    statement = visible_complaints(viewer).options(*WITH_DETAILS)
    if looks_like_reference(value):
        return statement.where(Complaint.reference == value, complaint_shows(viewer, "reference"))
    matching = select(AgencyReference.complaint_id).where(
        AgencyReference.reference_norm == normalise.reference(value)
    )
    mine = matching.where(AgencyReference.agency_id == viewer.recipient.agency_id)
    return statement.where(
        or_(
            and_(Complaint.id.in_(matching), complaint_shows(viewer, "agency_references")),
            Complaint.id.in_(mine),
        )
    ).order_by(Complaint.reported_at.desc())


async def read_extras(
    session: AsyncSession, rows: Sequence[Complaint]
) -> dict[UUID, dict[str, Any]]:
    """What a read of these complaints shows beside their rows (catalogue names): each one's
    latest risk band, and whether its complainant's log is flagged vulnerable."""
    ids = [row.id for row in rows]
    people_ids = {row.person_id for row in rows if row.person_id is not None}
    latest = (
        select(RiskAssessment.complaint_id, RiskAssessment.band)
        .where(RiskAssessment.complaint_id.in_(ids))
        .order_by(
            RiskAssessment.complaint_id, RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc()
        )
        .ext(distinct_on(RiskAssessment.complaint_id))
    )
    bands: dict[UUID, str] = {}
    if ids:
        bands = {row[0]: row[1] for row in await session.execute(latest)}
    flags: dict[UUID, bool] = {}
    if people_ids:
        found = select(Person.id, Person.vulnerable).where(Person.id.in_(people_ids))
        flags = {row[0]: row[1] for row in await session.execute(found)}
    extras: dict[UUID, dict[str, Any]] = {}
    for row in rows:
        extras[row.id] = {}
        if row.id in bands:
            extras[row.id]["risk_band"] = bands[row.id]
        if row.person_id in flags:
            extras[row.id]["vulnerable"] = flags[row.person_id]
    return extras


async def find_by_reference(
    session: AsyncSession, *, viewer: Viewer, value: str
) -> list[Seen[Complaint]]:
    found = list(await session.scalars(by_reference_statement(viewer, value).limit(20)))
    if not found:
        raise ComplaintNotFound("no complaint with that reference")
    return await seen_complaints(session, viewer, found)
