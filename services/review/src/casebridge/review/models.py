"""Review's tables: area procedures, the qualifying-complaint index, triggers and reviews."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.common.access import access_record_table
from casebridge.common.db import TYPE_ANNOTATION_MAP, new_id, service_metadata
from casebridge.common.events.models import DeadLetter, OutboxMessage, ProcessedMessage
from casebridge.common.isp.models import (
    CaseInvitation,
    PartnerAgency,
    ProtocolVersion,
    RevokedClient,
)

__all__ = [
    "ApplicantAccess",
    "ApplicantAttempt",
    "AreaConfig",
    "Base",
    "CaseInvitation",
    "CaseReview",
    "DeadLetter",
    "IndexedComplaint",
    "OutboxMessage",
    "PartnerAgency",
    "PlannedAction",
    "ProcessedMessage",
    "ProtocolVersion",
    "ReviewDeadline",
    "ReviewDecision",
    "ReviewLetter",
    "ReviewTransition",
    "ReviewVote",
    "RevokedClient",
    "Trigger",
]


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


REVIEW_REFERENCE_SEQUENCE = Sequence("review_reference_seq", metadata=Base.metadata)
# Who read which record (casebridge.common.access): appended by the API, read by DPOs.
access_record = access_record_table(Base.metadata)


class AreaConfig(Base):
    """One version of an area's case review procedure; the highest version is in force."""

    __tablename__ = "area_config"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    area_id: Mapped[uuid.UUID]
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (UniqueConstraint("area_id", "version"),)


class IndexedComplaint(Base):
    """What review needs of a complaint to evaluate thresholds, built from intake's events."""

    __tablename__ = "indexed_complaint"

    complaint_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32))
    area_id: Mapped[uuid.UUID]
    receiving_agency_id: Mapped[uuid.UUID]
    person_id: Mapped[uuid.UUID | None]
    incident_id: Mapped[uuid.UUID | None]
    nsir_category: Mapped[str] = mapped_column(String(20))
    asb_type: Mapped[str] = mapped_column(String(60))
    place_key: Mapped[str | None] = mapped_column(String(10))
    perpetrator_keys: Mapped[list[str]] = mapped_column(
        ARRAY(String(120)), server_default=text("'{}'")
    )
    hate_motivated: Mapped[bool] = mapped_column(Boolean)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    # The calendar dates in Europe/London that the statutory periods count (periods.py).
    occurred_on: Mapped[date]
    reported_on: Mapped[date]
    # A report date earlier than the day intake recorded it: who, why, and when recorded.
    recorded_at: Mapped[datetime | None]
    backdated_reason: Mapped[str | None] = mapped_column(String(500))
    backdated_by: Mapped[str | None] = mapped_column(String(200))
    # The newest intake change applied to this complaint: its time in intake (the complaint's
    # updated_at there) and its event, so a client can wait until review has seen a change.
    intake_changed_at: Mapped[datetime | None]
    intake_event_id: Mapped[uuid.UUID | None]
    # What the information-sharing protocol decides a complaint's sharing by: the victim's
    # consent, the purposes of overrides recorded, the landlords of the alleged perpetrators.
    consent_status: Mapped[str] = mapped_column(String(12), server_default="not_asked")
    consent_recorded_at: Mapped[datetime | None]
    override_purposes: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{}'")
    )
    perpetrator_landlord_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), server_default=text("'{}'")
    )
    indexed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        # The person's recent complaints: every victim threshold reads this range only.
        Index(
            "ix_indexed_complaint_person_reported",
            "person_id",
            "reported_at",
            postgresql_where=text("person_id IS NOT NULL"),
        ),
        # The same problem in one place: the community threshold reads this range only.
        Index(
            "ix_indexed_complaint_problem",
            "area_id",
            "asb_type",
            "place_key",
            "reported_at",
            postgresql_where=text("place_key IS NOT NULL"),
        ),
    )


class Trigger(Base):
    """A rule met for a victim (or a problem, for the community threshold), once per episode."""

    __tablename__ = "trigger"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    area_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[uuid.UUID | None]
    # Whose episode: the person's id, or "<asb type>@<place>" for a community problem.
    subject_key: Mapped[str] = mapped_column(String(120))
    # The episode: the subject and the first complaint that counted; unique per area and kind.
    episode_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    complaint_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
    raised_at: Mapped[datetime]
    explained_at: Mapped[datetime | None]
    explained_by: Mapped[str | None] = mapped_column(String(200))
    explained_by_agency_id: Mapped[uuid.UUID | None]
    explanation: Mapped[str | None] = mapped_column(Text)
    review_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        UniqueConstraint("area_id", "kind", "episode_key"),
        # A subject's earlier triggers, read with every new complaint's windows.
        Index("ix_trigger_area_subject", "area_id", "subject_key", "kind"),
        Index("ix_trigger_area_raised", "area_id", "raised_at", "id"),
        Index(
            "ix_trigger_person",
            "person_id",
            "raised_at",
            postgresql_where=text("person_id IS NOT NULL"),
        ),
    )


class CaseReview(Base):
    """An ASB case review: the application and where the procedure has got to."""

    __tablename__ = "case_review"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    area_id: Mapped[uuid.UUID]
    config_version: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID | None]
    applicant_kind: Mapped[str] = mapped_column(String(20))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_contact: Mapped[str] = mapped_column(String(200))
    relationship: Mapped[str | None] = mapped_column(String(200))
    consent_recorded: Mapped[bool] = mapped_column(Boolean)
    received_by_agency_id: Mapped[uuid.UUID]
    summary: Mapped[str] = mapped_column(Text)
    complaint_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    # Listed by the applicant (only these count), or found (the victim's, up to receipt).
    complaints_listed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The behaviour the application concerns, named by one complaint about it (None: every
    # behaviour among the complaints, each decided on its own).
    behaviour_complaint_id: Mapped[uuid.UUID | None]
    behaviour_note: Mapped[str | None] = mapped_column(Text)
    trigger_id: Mapped[uuid.UUID | None]
    state: Mapped[str] = mapped_column(String(30))
    threshold_met: Mapped[bool | None]
    threshold_automatic: Mapped[bool | None]
    threshold_reasons: Mapped[str | None] = mapped_column(Text)
    meeting_at: Mapped[datetime | None]
    minutes: Mapped[str | None] = mapped_column(Text)
    information_supplied: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    lead_agency_id: Mapped[uuid.UUID | None]
    recommendations: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    victim_consulted: Mapped[bool | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    escalation_of: Mapped[str | None] = mapped_column(String(20))
    escalation_requested_at: Mapped[datetime | None]
    escalation_upheld: Mapped[bool | None]
    escalation_decision: Mapped[str | None] = mapped_column(Text)
    closure_reason: Mapped[str | None] = mapped_column(Text)
    # When the application was received (every deadline runs from it); may be earlier than
    # recorded_at, the server's own time, and then says who back-dated it and why.
    applied_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
    backdated_reason: Mapped[str | None] = mapped_column(String(500))
    backdated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_case_review_area_applied", "area_id", "applied_at", "id"),)


class ReviewTransition(Base):
    """The review's history: every transition, who made it and why."""

    __tablename__ = "review_transition"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_review.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID | None]
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class ReviewVote(Base):
    """A core partner's vote on whether the threshold is met, or its abstention (met is
    None), with the reason either way (one per agency)."""

    __tablename__ = "review_vote"

    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_review.id"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    met: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    voted_by: Mapped[str] = mapped_column(String(200))
    voted_at: Mapped[datetime]


class ReviewDecision(Base):
    """A threshold decision as made: by whom (the statutory rule, the panel, the SPOC when
    the panel has no quorum, the escalation body), and every complaint it considered."""

    __tablename__ = "review_decision"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_review.id"), index=True)
    decided_by: Mapped[str] = mapped_column(String(20))
    met: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[str] = mapped_column(Text)
    counting: Mapped[dict[str, Any]] = mapped_column(JSONB)
    votes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    actor: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID | None]
    decided_at: Mapped[datetime]


class PlannedAction(Base):
    """One agency's action in the review's action plan."""

    __tablename__ = "planned_action"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_review.id"), index=True)
    agency_id: Mapped[uuid.UUID]
    description: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]


class ReviewDeadline(Base):
    """A stage's due date and the rule that produced it; overdue is raised once."""

    __tablename__ = "review_deadline"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_review.id"))
    area_id: Mapped[uuid.UUID]
    stage: Mapped[str] = mapped_column(String(30))
    starts_on: Mapped[date]
    due_on: Mapped[date]
    rule: Mapped[str] = mapped_column(String(300))
    met_at: Mapped[datetime | None]
    overdue_raised_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("review_id", "stage"),
        # The watcher reads only deadlines still open and not yet reported.
        Index(
            "ix_review_deadline_open",
            "due_on",
            postgresql_where=text("met_at IS NULL AND overdue_raised_at IS NULL"),
        ),
    )


class ApplicantAccess(Base):
    """The applicant's access code to their review's status: only its argon2 hash; a new
    code replaces the old (`issue` counts them)."""

    __tablename__ = "applicant_access"

    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_review.id"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    issue: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(200))


class ApplicantAttempt(Base):
    """Failed tries at the applicant's view, per reference (`ref:<reference>`) and per source
    address (`src:<address>`), in the current window."""

    __tablename__ = "applicant_attempt"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime]


class ReviewLetter(Base):
    """A letter to the applicant as sent: rendered HTML kept with the review."""

    __tablename__ = "review_letter"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_review.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
