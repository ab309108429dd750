"""Complaints: logging with a reference at once, reads, lookups by any reference, changes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import AgencyReference as AgencyReferenceData
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.intake import normalise, people
from casebridge.intake.config import AreaConfig, AreaConfigs
from casebridge.intake.errors import AreaNotConfigured, ComplaintNotFound
from casebridge.intake.models import (
    REFERENCE_SEQUENCE,
    AgencyReference,
    Area,
    Complaint,
    Incident,
    Perpetrator,
    Person,
    Witness,
)
from casebridge.intake.references import looks_like_reference, make_reference
from casebridge.intake.schemas.complaints import ComplaintCreate, PerpetratorIn
from casebridge.intake.visibility import visible_complaints

WITH_DETAILS = (
    selectinload(Complaint.agency_references),
    selectinload(Complaint.perpetrators),
    selectinload(Complaint.witnesses),
)


async def get_area(session: AsyncSession, area_id: UUID) -> Area:
    area = await session.get(Area, area_id)
    if area is None:
        raise AreaNotConfigured(f"area {area_id} is not configured in intake")
    return area


async def log_complaint(
    session: AsyncSession,
    *,
    principal: Principal,
    data: ComplaintCreate,
    config: AreaConfig,
    open311_client_id: UUID | None = None,
) -> tuple[Complaint, str | None]:
    """Record a complaint on the complainant's log and give it a reference at once; the
    ComplaintLogged event (and a repeat-victim mark, if due) commit with it. The REST route
    and Open311 both come here."""
    area = await get_area(session, principal.area_id)
    person: Person | None = None
    how: str | None = None
    if data.complainant is not None:
        person, how = await people.resolve_complainant(
            session, principal=principal, complainant=data.complainant
        )
    reported_at = data.reported_at or utcnow()
    sequence = await session.scalar(REFERENCE_SEQUENCE.next_value())
    assert sequence is not None
    incident = Incident(area_id=area.id)
    session.add(incident)
    await session.flush()
    complaint = Complaint(
        reference=make_reference(area.code, reported_at.year, sequence),
        sequence=sequence,
        area_id=area.id,
        receiving_agency_id=principal.agency_id,
        recorded_by=principal.subject,
        channel=data.channel,
        person_id=person.id if person else None,
        incident_id=incident.id,
        nsir_category=data.nsir_category,
        asb_type=data.asb_type,
        hate_motivated=data.hate_motivated,
        anonymous=data.anonymous,
        description=data.description,
        address=data.location.address,
        postcode=data.location.postcode,
        uprn=data.location.uprn,
        latitude=data.location.latitude,
        longitude=data.location.longitude,
        consent_status=data.consent.status,
        consent_recorded_at=_consent_time(data),
        open311_client_id=open311_client_id,
        occurred_at=data.occurred_at,
        reported_at=reported_at,
        agency_references=[
            AgencyReference(
                agency_id=ref.agency_id,
                reference=ref.reference,
                reference_norm=normalise.reference(ref.reference),
            )
            for ref in data.agency_references
        ],
        perpetrators=[_perpetrator(p) for p in data.perpetrators],
        witnesses=[
            Witness(name=w.name, phone=w.phone, email=w.email, statement=w.statement)
            for w in data.witnesses
        ],
    )
    session.add(complaint)
    await session.flush()
    event = logged_event(complaint, person)
    outbox.add(session, event, area_id=area.id, aggregate_id=complaint.id)
    if person is not None:
        await people.apply_repeat_victim_rule(session, person=person, rule=config.repeat_victim)
    return complaint, how


def _consent_time(data: ComplaintCreate) -> datetime | None:
    if data.consent.status == "not_asked":
        return None
    return data.consent.recorded_at or utcnow()


def _perpetrator(data: PerpetratorIn) -> Perpetrator:
    return Perpetrator(
        kind=data.kind,
        name=data.name,
        description=data.description,
        address=data.address,
        postcode=data.postcode,
        person_id=data.person_id,
        key=normalise.perpetrator_key(
            kind=data.kind,
            person_id=str(data.person_id) if data.person_id else None,
            name_=data.name,
            address=data.address,
            postcode_=data.postcode,
        ),
    )


def logged_event(complaint: Complaint, person: Person | None) -> ComplaintLogged:
    return ComplaintLogged(
        complaint_id=complaint.id,
        reference=complaint.reference,
        area_id=complaint.area_id,
        receiving_agency_id=complaint.receiving_agency_id,
        person_id=complaint.person_id,
        incident_id=complaint.incident_id,
        channel=complaint.channel,
        nsir_category=complaint.nsir_category,
        asb_type=complaint.asb_type,
        hate_motivated=complaint.hate_motivated,
        anonymous=complaint.anonymous,
        occurred_at=complaint.occurred_at,
        reported_at=complaint.reported_at,
        postcode=complaint.postcode,
        perpetrator_keys=sorted({p.key for p in complaint.perpetrators if p.key}),
        consent_to_share=complaint.consent_status,
        agency_references=[
            AgencyReferenceData(agency_id=r.agency_id, reference=r.reference)
            for r in complaint.agency_references
        ],
        consent_recorded_at=complaint.consent_recorded_at,
        complainant_kind=person.kind if person else None,
        status=complaint.status,
    )


async def get_complaint(
    session: AsyncSession, *, principal: Principal, complaint_id: UUID, details: bool = True
) -> Complaint:
    statement = visible_complaints(principal).where(Complaint.id == complaint_id)
    if details:
        statement = statement.options(*WITH_DETAILS)
    complaint = await session.scalar(statement)
    if complaint is None:
        raise ComplaintNotFound("complaint not found")
    return complaint


def by_reference_statement(principal: Principal, value: str) -> Select[Complaint]:
    """A Casebridge reference, or any agency's reference (police, council, housing)."""
    statement = visible_complaints(principal).options(*WITH_DETAILS)
    if looks_like_reference(value):
        return statement.where(Complaint.reference == value)
    matching = select(AgencyReference.complaint_id).where(
        AgencyReference.reference_norm == normalise.reference(value)
    )
    return statement.where(Complaint.id.in_(matching)).order_by(Complaint.reported_at.desc())


async def find_by_reference(
    session: AsyncSession, *, principal: Principal, value: str
) -> list[Complaint]:
    found = list(await session.scalars(by_reference_statement(principal, value).limit(20)))
    if not found:
        raise ComplaintNotFound("no complaint with that reference")
    return found


async def area_config(session: AsyncSession, configs: AreaConfigs, area_id: UUID) -> AreaConfig:
    """The caller's area's configuration (its own file, or the shipped default)."""
    return configs.for_area((await get_area(session, area_id)).code)
