"""Tables every service has: outbox, inbox (processed messages), dead letters.

Each service's first migration creates them with the DDL written out in that revision (history
never changes). A change here is a new revision in every service: tests/test_migrations.py
fails on the drift until each has one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.common.db import TYPE_ANNOTATION_MAP, service_metadata


class EventBase(DeclarativeBase):
    """The event tables' own registry: every service's database has them, and a session
    mixes them freely with the service's own models."""

    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class OutboxMessage(EventBase):
    """An event waiting to be published; it commits with the state change that caused it."""

    __tablename__ = "outbox_message"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(120))
    aggregate_type: Mapped[str] = mapped_column(String(60))
    aggregate_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    acquired_token: Mapped[uuid.UUID | None]
    acquired_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_message_due", "next_attempt_at", "created_at"),)


class ProcessedMessage(EventBase):
    """Inbox: a consumer claims a message id in the same transaction as its effects."""

    __tablename__ = "processed_message"

    consumer_name: Mapped[str] = mapped_column(String(120), primary_key=True)
    message_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DeadLetter(EventBase):
    """A message that could not be published or handled, kept visible with its reason."""

    __tablename__ = "dead_letter"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))  # "outbound" | "inbound"
    consumer_name: Mapped[str | None] = mapped_column(String(120))
    message_id: Mapped[str | None] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    raw: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
