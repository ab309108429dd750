"""Sharing's tables: the partner registry, client credentials, disclosures and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.common.db import TYPE_ANNOTATION_MAP, new_id, service_metadata
from casebridge.common.events.models import DeadLetter, OutboxMessage, ProcessedMessage

__all__ = [
    "AGENCY_KINDS",
    "Agency",
    "Area",
    "Base",
    "ClientAuthFailure",
    "DeadLetter",
    "Delivery",
    "Disclosure",
    "OAuthClient",
    "OutboxMessage",
    "ProcessedMessage",
]

AGENCY_KINDS = ("council", "police", "housing", "health", "other")
OUTCOMES = ("delivered", "refused")


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


class Agency(Base):
    """A partner organisation in one area; its kind decides what it may receive."""

    __tablename__ = "agency"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

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
    """Append-only: what went (or was refused) to whom, why, and under which law. Field names,
    never values."""

    __tablename__ = "disclosure"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source_event_id: Mapped[uuid.UUID]
    source_event_type: Mapped[str] = mapped_column(String(120))
    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"))
    recipient_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    purpose: Mapped[str] = mapped_column(String(60))
    legal_basis: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
        # One decision per partner per event, whatever the inbox says.
        UniqueConstraint("source_event_id", "recipient_agency_id"),
        Index("ix_disclosure_recipient", "recipient_agency_id", "id"),
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

    __table_args__ = (Index("ix_delivery_recipient", "recipient_agency_id", "id"),)
