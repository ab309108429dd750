"""A complaint as the recorder logs it: plain data (no ORM objects on the hot path) that
reads like a `Complaint` for the presenters, made from the caller's draft, and its
ComplaintLogged event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import AgencyReference as AgencyReferenceData
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import new_id, utcnow
from casebridge.intake import batch_write, normalise, rows
from casebridge.intake.areas import ServedArea
from casebridge.intake.matching import Found
from casebridge.intake.references import make_reference
from casebridge.intake.schemas.complaints import ComplaintCreate, PerpetratorIn


def detail_rows(
    model: type[Any], complaint_id: UUID, details: Sequence[Any]
) -> list[dict[str, Any]]:
    """A complaint's references, perpetrators or witnesses as rows of the model's table:
    every field of each, and the complaint it is of."""
    return [
        rows.row_of(
            model,
            complaint_id=complaint_id,
            **{name: getattr(detail, name) for name in detail.__slots__},
        )
        for detail in details
    ]


@dataclass(frozen=True, slots=True)
class LoggedReference:
    id: UUID
    agency_id: UUID
    reference: str
    reference_norm: str
    added_by: str
    added_at: datetime


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
    landlord_agency_id: UUID | None


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
    complainant: dict[str, Any] | None
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
    override_purposes: list[str]
    open311_client_id: UUID | None
    occurred_at: datetime
    reported_at: datetime
    backdated_reason: str | None
    backdated_by: str | None
    created_at: datetime
    updated_at: datetime
    agency_references: list[LoggedReference]
    perpetrators: list[LoggedPerpetrator]
    witnesses: list[LoggedWitness]
    # Told to the caller, not columns: the band of risk answers given at the call and what
    # the area's procedure does next, and whether the complainant's log is vulnerable.
    risk_band: str | None = None
    risk_next_step: str | None = None
    vulnerable: bool | None = None

    def row(self) -> dict[str, Any]:
        return {column: getattr(self, column) for column in batch_write.COMPLAINT_COLUMNS}

    def told(self) -> dict[str, Any]:
        """What the caller is told beyond the complaint's own fields (catalogue names)."""
        told: dict[str, Any] = {
            "risk_band": self.risk_band,
            "risk_next_step": self.risk_next_step,
            "vulnerable": self.vulnerable,
        }
        return {name: value for name, value in told.items() if value is not None}


def new_complaint(
    principal: Principal,
    data: ComplaintCreate,
    *,
    area: ServedArea,
    sequence: int,
    found: Found | None,
    backdated: str | None,
    open311_client_id: UUID | None,
) -> LoggedComplaint:
    """The complaint a caller asked to log, as it will be written: its ids, its reference
    (drawn by matching), its log (if it has a complainant) and its details."""
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
        complainant=_as_given(data),
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
        override_purposes=[],
        open311_client_id=open311_client_id,
        occurred_at=data.occurred_at,
        reported_at=reported_at,
        backdated_reason=backdated,
        backdated_by=principal.subject if backdated else None,
        created_at=now,
        updated_at=now,
        agency_references=[
            LoggedReference(
                new_id(),
                r.agency_id,
                r.reference,
                normalise.reference(r.reference),
                principal.subject,
                now,
            )
            for r in data.agency_references
        ],
        perpetrators=[_perpetrator(p) for p in data.perpetrators],
        witnesses=[
            LoggedWitness(new_id(), w.name, w.phone, w.email, w.statement) for w in data.witnesses
        ],
        vulnerable=found.vulnerable if found else None,
    )


def _as_given(data: ComplaintCreate) -> dict[str, Any] | None:
    """The complainant's details as this call gave them (the agency's own record of them)."""
    if data.complainant is None or data.complainant.details is None:
        return None
    details = data.complainant.details
    given = details.model_dump(mode="json", exclude_none=True)
    given["name_norm"] = normalise.name(details.name)
    return dict(given)


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
        landlord_agency_id=data.landlord_agency_id,
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
        perpetrator_landlord_ids=sorted(
            {p.landlord_agency_id for p in complaint.perpetrators if p.landlord_agency_id}
        ),
        override_purposes=list(complaint.override_purposes),
        recorded_at=complaint.created_at,
        backdated=complaint.backdated_reason is not None,
        backdated_reason=complaint.backdated_reason,
        backdated_by=complaint.backdated_by,
    )
