"""Intake's tables: areas, complaints (people, incidents and assessments come with issue 3)."""

from __future__ import annotations

import uuid
from datetime import datetime

from casebridge.common.db import Base, new_id
from casebridge.common.events.models import DeadLetter, OutboxMessage, ProcessedMessage
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Sequence, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["Area", "Base", "Complaint", "DeadLetter", "OutboxMessage", "ProcessedMessage"]

REFERENCE_SEQUENCE = Sequence("complaint_reference_seq", metadata=Base.metadata)


class Area(Base):
    """A Community Safety Partnership area and the prefix of its references."""

    __tablename__ = "area"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))


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
    nsir_category: Mapped[str] = mapped_column(String(20))
    asb_type: Mapped[str] = mapped_column(String(60))
    hate_motivated: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(10))
    occurred_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index("ix_complaint_agency_created", "receiving_agency_id", "created_at"),)
