"""Sharing's tables: the partner registry, client credentials, disclosures and deliveries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.common.db import TYPE_ANNOTATION_MAP, new_id, service_metadata
from casebridge.common.events.models import DeadLetter, OutboxMessage, ProcessedMessage
from casebridge.common.isp.catalogue import AGENCY_KINDS

__all__ = [
    "AGENCY_KINDS",
    "APPEND_ONLY_TABLES",
    "Agency",
    "Area",
    "AreaProcedure",
    "Base",
    "CaseIndex",
    "ClientAuthFailure",
    "DeadLetter",
    "Delivery",
    "Disclosure",
    "InvitationChange",
    "NatsUser",
    "OAuthClient",
    "OutboxMessage",
    "PartnerUpdate",
    "ProcessedMessage",
    "PublishedProtocol",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookMessage",
]

OUTCOMES = ("delivered", "refused")
CASE_KINDS = ("complaint", "review")
WEBHOOK_STATES = ("pending", "delivered", "dead")
# The service's own role may add rows to these and read them, never change or remove one
# (LEG-R3): granted in the migrations, proved by tests/test_privileges.py.
APPEND_ONLY_TABLES = ("disclosure", "protocol_version", "invitation_change")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class Area(Base):
    """A Community Safety Partnership: the partners that share with each other."""

    __tablename__ = "area"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Agency(Base):
    """A partner organisation in one area, as the registry knows it; every change bumps its
    revision and is announced (AgencyChanged), so replicas never apply an older one."""

    __tablename__ = "agency"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    core_partner: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    ods_code: Mapped[str | None] = mapped_column(String(20))
    police_force_code: Mapped[str | None] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (CheckConstraint(_one_of("kind", AGENCY_KINDS), name="kind"),)


class OAuthClient(Base):
    """A partner system's client credentials; only the argon2 hash of the secret is kept."""

    __tablename__ = "oauth_client"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    grant_types: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{client_credentials}'")
    )
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    secret_rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebhookEndpoint(Base):
    """Where a partner wants its deliveries posted (used by the delivery channels). The
    signing secret is kept as is: the sender needs it to sign; it is shown once."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), server_default=text("''"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    signing_secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class NatsUser(Base):
    """A partner's NATS credentials; the password is kept as the bcrypt hash nats-server's
    own configuration takes."""

    __tablename__ = "nats_user"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]


class PublishedProtocol(Base):
    """Append-only: one version of an area's information-sharing protocol, who published it
    and when, its canonical text and the diff from the version before."""

    __tablename__ = "protocol_version"

    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    text: Mapped[str] = mapped_column(Text)
    diff: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]
    published_by_client: Mapped[str] = mapped_column(String(100))
    published_by_subject: Mapped[str] = mapped_column(String(200))
    published_by_agency_id: Mapped[uuid.UUID | None]


class CaseIndex(Base):
    """A case sharing has heard of (a complaint or a case review), by its reference: what
    invitations are checked against."""

    __tablename__ = "case_index"

    reference: Mapped[str] = mapped_column(String(40), primary_key=True)
    area_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(10))
    case_id: Mapped[uuid.UUID] = mapped_column(index=True)
    person_id: Mapped[uuid.UUID | None]
    recorder_agency_id: Mapped[uuid.UUID]
    indexed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # A complaint's basis for sharing, kept current from intake's events: the events that
    # follow it (risk, incident links) do not carry it and are decided on it.
    consent_to_share: Mapped[str] = mapped_column(String(20), server_default=text("'not_asked'"))
    override_purposes: Mapped[list[str]] = mapped_column(
        ARRAY(String(60)), server_default=text("'{}'")
    )
    perpetrator_landlord_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid()), server_default=text("'{}'")
    )
    # When intake made that change (its event's time): an older change never overwrites it.
    basis_recorded_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint(_one_of("kind", CASE_KINDS), name="kind"),)


class AreaProcedure(Base):
    """Review's case review procedure of an area, as far as sharing decides on it: which
    agency is the SPOC and which sit on the panel (from ProcedureChanged; the latest
    version wins). No foreign key to the registry: review may name an agency sharing has
    not heard of yet, and it then receives nothing until it is registered."""

    __tablename__ = "area_procedure"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    spoc_agency_id: Mapped[uuid.UUID | None]
    panel_agency_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid()), server_default=text("'{}'")
    )
    changed_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class InvitationChange(Base):
    """Append-only: an agency invited to one case, or removed from it; the latest change
    per (case, agency) is in force."""

    __tablename__ = "invitation_change"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_reference: Mapped[str] = mapped_column(String(40))
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    invited: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(500))
    changed_by_client: Mapped[str] = mapped_column(String(100))
    changed_by_subject: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime]

    __table_args__ = (Index("ix_invitation_change_case", "case_reference", "agency_id", "id"),)


class ClientAuthFailure(Base):
    """Failed secret checks per (client id, source address), shared by every API replica
    (the token endpoint's brute-force lockout, `casebridge.sharing.lockout`)."""

    __tablename__ = "client_auth_failure"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # An IP address, or an IPv6 /64 network.
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class Disclosure(Base):
    """Append-only: what went (or was refused) to whom, why, under which law and which
    protocol version, about whose record. Field names, never values."""

    __tablename__ = "disclosure"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source_event_id: Mapped[uuid.UUID]
    source_event_type: Mapped[str] = mapped_column(String(120))
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    recipient_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    # The first purpose and its legal basis (the lists below hold them all).
    purpose: Mapped[str | None] = mapped_column(String(60))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime]
    data_class: Mapped[str | None] = mapped_column(String(30))
    redacted: Mapped[list[str]] = mapped_column(ARRAY(String(60)), server_default=text("'{}'"))
    purposes: Mapped[list[str]] = mapped_column(ARRAY(String(60)), server_default=text("'{}'"))
    legal_bases: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    protocol_version: Mapped[int | None]
    controller_agency_id: Mapped[uuid.UUID | None]
    source_reference: Mapped[str | None] = mapped_column(String(40))
    person_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
        # One decision per partner per event, whatever the inbox says.
        UniqueConstraint("source_event_id", "recipient_agency_id"),
        Index("ix_disclosure_recipient", "recipient_agency_id", "id"),
        Index("ix_disclosure_controller", "controller_agency_id", "id"),
        Index("ix_disclosure_person", "person_id", "id"),
        Index("ix_disclosure_reference", "source_reference", "id"),
    )


class Delivery(Base):
    """The filtered copy a partner received; the partner's feed reads it."""

    __tablename__ = "delivery"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the delivered envelope's id
    disclosure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("disclosure.id"), unique=True)
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    recipient_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    subject: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The partner's feed position: numbered in commit order (deliveries.py takes a lock
    # before numbering), so a cursor never skips a row that commits late.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=False))

    __table_args__ = (
        Index("ix_delivery_recipient", "recipient_agency_id", "id"),
        Index("ix_delivery_feed", "recipient_agency_id", "seq", unique=True),
    )


class WebhookMessage(Base):
    """One delivery owed to one webhook endpoint: its id is the `webhook-id` every attempt
    carries (at least once, never under another id); dead after the last attempt fails,
    until the partner re-drives it."""

    __tablename__ = "webhook_message"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("delivery.id"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoint.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    state: Mapped[str] = mapped_column(String(10), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime]
    # Claimed by a dispatcher until then; a dispatcher that dies leaves it to run out.
    leased_until: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_one_of("state", WEBHOOK_STATES), name="state"),
        UniqueConstraint("delivery_id", "endpoint_id"),
        Index(
            "ix_webhook_message_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_webhook_message_agency", "agency_id", "state", "id"),
    )


class WebhookAttempt(Base):
    """One POST of a webhook message and what came of it (the status, or the error)."""

    __tablename__ = "webhook_attempt"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_message.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2000))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class PartnerUpdate(Base):
    """What a partner did about a case it can see: the action, a note, the outcome, and the
    next step with its due date. Announced (PartnerUpdateRecorded) and shared onward."""

    __tablename__ = "partner_update"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_reference: Mapped[str] = mapped_column(String(40))
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    action: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(2000))
    outcome: Mapped[str] = mapped_column(String(20))
    next_step: Mapped[str | None] = mapped_column(String(500))
    due_on: Mapped[date | None]
    recorded_at: Mapped[datetime]
    recorded_by_client: Mapped[str] = mapped_column(String(100))
    recorded_by_subject: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_partner_update_case", "case_reference", "id"),)
