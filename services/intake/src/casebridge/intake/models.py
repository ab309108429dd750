"""Intake's tables: areas and agencies, people, complaints, incidents, assessments, keys."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from casebridge.common.access import access_record_table
from casebridge.common.db import TYPE_ANNOTATION_MAP, new_id, service_metadata, utcnow
from casebridge.common.events.models import DeadLetter, OutboxMessage, ProcessedMessage
from casebridge.common.isp.models import (
    CaseInvitation,
    PartnerAgency,
    ProtocolVersion,
    RevokedClient,
)

__all__ = [
    "AgencyReference",
    "Area",
    "Base",
    "CaseInvitation",
    "Complaint",
    "DeadLetter",
    "IdempotencyRecord",
    "Incident",
    "Open311Client",
    "OutboxMessage",
    "PartnerAgency",
    "Perpetrator",
    "Person",
    "PersonMerge",
    "PersonVulnerability",
    "ProcessedMessage",
    "ProtocolVersion",
    "RevokedClient",
    "RiskAssessment",
    "ShareOverride",
    "TimelineEntry",
    "Witness",
]


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


REFERENCE_SEQUENCE = Sequence("complaint_reference_seq", metadata=Base.metadata)
# Who read which record (casebridge.common.access): appended by the API, read by DPOs.
access_record = access_record_table(Base.metadata)
_LIVE = text("merged_into_id IS NULL")


class Area(Base):
    """A Community Safety Partnership area and the prefix of its references."""

    __tablename__ = "area"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Person(Base):
    """A complainant (individual, business or community group): one complaint log each."""

    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    name_norm: Mapped[str] = mapped_column(String(200))
    # The surname's sound (`names.surname_key`): name variants with the same date of birth
    # or postcode are offered as candidates (Bob / Robert Smith, Smyth, Mohammed / Muhammad).
    surname_key: Mapped[str | None] = mapped_column(String(60))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(8))
    repeat_victim_at: Mapped[datetime | None]
    # Vulnerable (Home Office principle 2): from risk answers the area's matrix flags as
    # indicators, or an officer's explicit flag with a reason (`person_vulnerability`).
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    vulnerability_reasons: Mapped[list[str]] = mapped_column(
        ARRAY(String(200)), default=list, server_default=text("'{}'")
    )
    # The victim's latest word on sharing across the log's complaints, and the purposes of
    # overrides recorded on any of them: what the protocol's conditions read for the log.
    consent_status: Mapped[str] = mapped_column(
        String(12), default="not_asked", server_default="not_asked"
    )
    consent_recorded_at: Mapped[datetime | None]
    override_purposes: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), default=list, server_default=text("'{}'")
    )
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    # Matching reads only these indexes (partial: merged records never match).
    __table_args__ = (
        Index("ix_person_match_phone", "area_id", "phone", postgresql_where=_LIVE),
        Index("ix_person_match_email", "area_id", "email", postgresql_where=_LIVE),
        Index("ix_person_match_name_dob", "area_id", "name_norm", "date_of_birth",
              postgresql_where=_LIVE),
        Index("ix_person_match_postcode", "area_id", "postcode", postgresql_where=_LIVE),
        Index("ix_person_match_surname_dob", "area_id", "surname_key", "date_of_birth",
              postgresql_where=text("merged_into_id IS NULL AND surname_key IS NOT NULL")),
        Index("ix_person_vulnerable", "area_id", "created_at", "id",
              postgresql_where=text("vulnerable AND merged_into_id IS NULL")),
    )  # fmt: skip


class PersonMerge(Base):
    """Audit of a duplicate log merged into another (who, when, why, what moved)."""

    __tablename__ = "person_merge"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), unique=True)
    agency_id: Mapped[uuid.UUID]
    merged_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    complaint_ids: Mapped[list[str]] = mapped_column(JSONB)
    merged_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class PersonVulnerability(Base):
    """Audit of a log's vulnerability: each flag or clearing, from risk answers or an
    officer, with its reasons, who and when. Never updated; the log holds the current state."""

    __tablename__ = "person_vulnerability"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    vulnerable: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(200)))
    source: Mapped[str] = mapped_column(String(20))  # risk_answers | officer
    assessment_id: Mapped[uuid.UUID | None]
    agency_id: Mapped[uuid.UUID]
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Incident(Base):
    """What happened; complaints to several agencies about it share one incident."""

    __tablename__ = "incident"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Complaint(Base):
    """One report by one complainant to one agency about behaviour at a time and place."""

    __tablename__ = "complaint"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    receiving_agency_id: Mapped[uuid.UUID]
    recorded_by: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incident.id"), index=True)
    nsir_category: Mapped[str] = mapped_column(String(20))
    asb_type: Mapped[str] = mapped_column(String(60))
    hate_motivated: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text)
    # The complainant's details as this agency was given them with this complaint: what the
    # agency supplied is its own, whatever the log holds from others.
    complainant: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(8))
    uprn: Mapped[int | None] = mapped_column(BigInteger)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    consent_status: Mapped[str] = mapped_column(
        String(12), default="not_asked", server_default="not_asked"
    )
    consent_recorded_at: Mapped[datetime | None]
    share_override_reason: Mapped[str | None] = mapped_column(String(500))
    share_override_by: Mapped[str | None] = mapped_column(String(200))
    share_override_at: Mapped[datetime | None]
    override_purposes: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), default=list, server_default=text("'{}'")
    )
    open311_client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("open311_client.id"))
    occurred_at: Mapped[datetime]
    # When the complaint was made to the agency; created_at is when intake recorded it (the
    # server's own time, kept beside it). An earlier day says who back-dated it and why.
    reported_at: Mapped[datetime]
    backdated_reason: Mapped[str | None] = mapped_column(String(500))
    backdated_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    agency_references: Mapped[list[AgencyReference]] = relationship(lazy="raise")
    perpetrators: Mapped[list[Perpetrator]] = relationship(lazy="raise")
    witnesses: Mapped[list[Witness]] = relationship(lazy="raise")
    overrides: Mapped[list[ShareOverride]] = relationship(lazy="raise")

    __table_args__ = (
        Index("ix_complaint_agency_created", "receiving_agency_id", "created_at"),
        Index("ix_complaint_area_reported", "area_id", "reported_at", "id"),
        Index("ix_complaint_person_reported", "person_id", "reported_at"),
        Index("ix_complaint_postcode", "area_id", "postcode"),
    )


class AgencyReference(Base):
    """An agency's own reference for a complaint (police incident number, council case)."""

    __tablename__ = "agency_reference"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    complaint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[uuid.UUID]
    reference: Mapped[str] = mapped_column(String(60))
    reference_norm: Mapped[str] = mapped_column(String(60), index=True)
    # Who added it and when: at logging, or later by an agency that can see the complaint.
    added_by: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Perpetrator(Base):
    """An alleged perpetrator named in a complaint; `key` says "the same one" across them."""

    __tablename__ = "perpetrator"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    complaint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(8))
    person_id: Mapped[uuid.UUID | None]
    key: Mapped[str | None] = mapped_column(String(300), index=True)
    # The housing provider that is the alleged perpetrator's landlord, if known: it never
    # learns who complained without a recorded basis (the information-sharing protocol).
    landlord_agency_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        Index(
            "ix_perpetrator_landlord",
            "landlord_agency_id",
            "complaint_id",
            postgresql_where=text("landlord_agency_id IS NOT NULL"),
        ),
    )


class Witness(Base):
    """A witness named in a complaint."""

    __tablename__ = "witness"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    complaint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    statement: Mapped[str | None] = mapped_column(String(2000))


class ShareOverride(Base):
    """Sharing without (or against) consent, for one purpose: who decided, who approved, why.
    Never updated; a later override adds a row."""

    __tablename__ = "share_override"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaint.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    justification: Mapped[str] = mapped_column(String(500))
    approved_by: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class RiskAssessment(Base):
    """One assessment of a complaint with the configuration version it used; never updated."""

    __tablename__ = "risk_assessment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaint.id"))
    person_id: Mapped[uuid.UUID | None]
    config_version: Mapped[str] = mapped_column(String(60))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(10))
    assessed_by: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID]
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    __table_args__ = (Index("ix_risk_assessment_complaint", "complaint_id", "assessed_at"),)


class Open311Client(Base):
    """A public reporting app; its api_key is stored as a SHA-256 digest only."""

    __tablename__ = "open311_client"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    api_key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    agency_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class IdempotencyRecord(Base):
    """The first response to a POST with an Idempotency-Key, stored with its effect."""

    __tablename__ = "idempotency_record"

    caller: Mapped[str] = mapped_column(String(250), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    media_type: Mapped[str] = mapped_column(String(60), server_default="application/json")
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class TimelineEntry(Base):
    """What other services did about intake's people and complaints, as one case timeline
    reads it: review's triggers and review steps, partners' updates (from their events, by
    the event's id). `values` holds the record's fields by the protocol catalogue's names
    (`data_class`), so each caller sees only what the protocol grants it. An entry opens a
    thread (a trigger, a case review, a partner update on a complaint) or follows one; the
    opening entry names the person and the complaints."""

    __tablename__ = "timeline_entry"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the event's id
    area_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(60))  # the event's name, e.g. trigger.raised
    data_class: Mapped[str] = mapped_column(String(30))
    thread_id: Mapped[uuid.UUID] = mapped_column(index=True)
    opens_thread: Mapped[bool] = mapped_column(Boolean)
    person_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    complaint_ids: Mapped[list[uuid.UUID]] = mapped_column(
        PG_ARRAY(Uuid), server_default=text("'{}'")
    )
    case_reference: Mapped[str | None] = mapped_column(String(40))
    # The agency that recorded the thread's record (received the application, wrote the
    # update): it stands as the recorder to the thread's entries.
    recorder_agency_id: Mapped[uuid.UUID | None]
    occurred_at: Mapped[datetime]
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        Index("ix_timeline_entry_complaint_ids", "complaint_ids", postgresql_using="gin"),
    )
