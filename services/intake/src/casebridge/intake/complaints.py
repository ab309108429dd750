"""Complaints: logging with a reference at once, reads, lookups by any reference, changes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import AgencyReference as AgencyReferenceData
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import new_id, utcnow
from casebridge.intake import normalise, people, recording
from casebridge.intake.areas import ServedArea
from casebridge.intake.errors import ComplaintNotFound
from casebridge.intake.models import REFERENCE_SEQUENCE, AgencyReference, Complaint
from casebridge.intake.references import looks_like_reference, make_reference
from casebridge.intake.schemas.complaints import ComplaintCreate, PerpetratorIn
from casebridge.intake.visibility import visible_complaints

NEXT_SEQUENCE = select(REFERENCE_SEQUENCE.next_value())
WITH_DETAILS = (
    selectinload(Complaint.agency_references),
    selectinload(Complaint.perpetrators),
    selectinload(Complaint.witnesses),
)


@dataclass(frozen=True, slots=True)
class LoggedReference:
    id: UUID
    agency_id: UUID
    reference: str
    reference_norm: str


@dataclass(frozen=True, slots=True)
class LoggedPerpetrator:
    id: UUID
    kind: str
    name: str | None
    description: str | None
    address: str | None
    postcode: str | None
    person_id: UUID | None
    key: str | None


@dataclass(frozen=True, slots=True)
class LoggedWitness:
    id: UUID
    name: str
    phone: str | None
    email: str | None
    statement: str | None


@dataclass(frozen=True, slots=True)
class LoggedComplaint:
    """A complaint as just logged: every column of its row, and its details. Plain data, so
    the hot path builds no ORM objects; it reads like a `Complaint` for the presenters."""

    id: UUID
    reference: str
    sequence: int
    area_id: UUID
    receiving_agency_id: UUID
    recorded_by: str
    channel: str
    status: str
    person_id: UUID | None
    incident_id: UUID
    nsir_category: str
    asb_type: str
    hate_motivated: bool
    anonymous: bool
    description: str
    address: str | None
    postcode: str | None
    uprn: int | None
    latitude: float | None
    longitude: float | None
    consent_status: str
    consent_recorded_at: datetime | None
    share_override_reason: str | None
    share_override_by: str | None
    share_override_at: datetime | None
    open311_client_id: UUID | None
    occurred_at: datetime
    reported_at: datetime
    created_at: datetime
    updated_at: datetime
    agency_references: list[LoggedReference]
    perpetrators: list[LoggedPerpetrator]
    witnesses: list[LoggedWitness]

    def row(self) -> dict[str, Any]:
        return {column: getattr(self, column) for column in recording.COMPLAINT_COLUMNS}


async def log_complaint(
    session: AsyncSession,
    *,
    principal: Principal,
    data: ComplaintCreate,
    area: ServedArea,
    open311_client_id: UUID | None = None,
) -> tuple[LoggedComplaint, str | None]:
    """Record a complaint on the complainant's log and give it a reference at once; the
    ComplaintLogged event (and a repeat-victim mark, if due) commit with it. The REST route
    and Open311 both come here."""
    found: people.Found | None = None
    if data.complainant is not None:
        found = await people.resolve_complainant(
            session, principal=principal, complainant=data.complainant
        )
    sequence = found.sequence if found else None
    if sequence is None:
        sequence = await session.scalar(NEXT_SEQUENCE)
        assert sequence is not None
    complaint = _new_complaint(principal, data, area, sequence, found, open311_client_id)
    event = logged_event(complaint, found.kind if found else None)
    rule = area.config.repeat_victim
    since = people.repeat_window_start(rule, complaint.created_at)
    earlier = await recording.write_complaint(
        session,
        complaint=complaint.row(),
        incident={
            "id": complaint.incident_id,
            "area_id": area.id,
            "created_at": complaint.created_at,
        },
        person=found.new_row if found else None,
        children={
            "reference": [asdict(r) for r in complaint.agency_references],
            "perpetrator": [asdict(p) for p in complaint.perpetrators],
            "witness": [asdict(w) for w in complaint.witnesses],
        },
        outbox=recording.outbox_row(event, area_id=area.id, aggregate_id=complaint.id),
        since=since,
    )
    # This complaint is a new incident of its own, counted if reported within the window.
    incidents = earlier + 1 if complaint.reported_at >= since else earlier
    if found and incidents >= rule.complaints:
        await people.mark_if_repeat_victim(session, found=found, rule=rule)
    return complaint, found.how if found else None


def _new_complaint(
    principal: Principal,
    data: ComplaintCreate,
    area: ServedArea,
    sequence: int,
    found: people.Found | None,
    open311_client_id: UUID | None,
) -> LoggedComplaint:
    now = utcnow()
    reported_at = data.reported_at or now
    location = data.location
    return LoggedComplaint(
        id=new_id(),
        reference=make_reference(area.code, reported_at.year, sequence),
        sequence=sequence,
        area_id=area.id,
        receiving_agency_id=principal.agency_id,
        recorded_by=principal.subject,
        channel=str(data.channel),
        status="open",
        person_id=found.id if found else None,
        incident_id=new_id(),
        nsir_category=str(data.nsir_category),
        asb_type=str(data.asb_type),
        hate_motivated=data.hate_motivated,
        anonymous=data.anonymous,
        description=data.description,
        address=location.address,
        postcode=location.postcode,
        uprn=location.uprn,
        latitude=location.latitude,
        longitude=location.longitude,
        consent_status=str(data.consent.status),
        consent_recorded_at=_consent_time(data, now),
        share_override_reason=None,
        share_override_by=None,
        share_override_at=None,
        open311_client_id=open311_client_id,
        occurred_at=data.occurred_at,
        reported_at=reported_at,
        created_at=now,
        updated_at=now,
        agency_references=[
            LoggedReference(new_id(), r.agency_id, r.reference, normalise.reference(r.reference))
            for r in data.agency_references
        ],
        perpetrators=[_perpetrator(p) for p in data.perpetrators],
        witnesses=[
            LoggedWitness(new_id(), w.name, w.phone, w.email, w.statement) for w in data.witnesses
        ],
    )


def _consent_time(data: ComplaintCreate, now: datetime) -> datetime | None:
    if data.consent.status == "not_asked":
        return None
    return data.consent.recorded_at or now


def _perpetrator(data: PerpetratorIn) -> LoggedPerpetrator:
    return LoggedPerpetrator(
        id=new_id(),
        kind=str(data.kind),
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


def logged_event(complaint: LoggedComplaint, complainant_kind: str | None) -> ComplaintLogged:
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
        complainant_kind=complainant_kind,
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
