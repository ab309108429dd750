"""Stats read models: counts only. No personal data, no free text (LEG-R8)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.common.db import TYPE_ANNOTATION_MAP, service_metadata
from casebridge.common.events.models import DeadLetter, OutboxMessage, ProcessedMessage

__all__ = ["Base", "ComplaintCount", "DeadLetter", "OutboxMessage", "ProcessedMessage"]


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class ComplaintCount(Base):
    """Complaints per area, month, receiving agency, type, category and channel."""

    __tablename__ = "complaint_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    asb_type: Mapped[str] = mapped_column(String(60), primary_key=True)
    nsir_category: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    hate_motivated: Mapped[bool] = mapped_column(primary_key=True)
    complaints: Mapped[int] = mapped_column(Integer, server_default=text("0"))
