"""Review's tables: area procedures, the qualifying-complaint index, triggers and reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from casebridge.common.db import Base, new_id
from casebridge.common.events.models import DeadLetter, OutboxMessage, ProcessedMessage
from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

__all__ = [
    "AreaConfig",
    "Base",
    "DeadLetter",
    "IndexedComplaint",
    "OutboxMessage",
    "ProcessedMessage",
]


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
    qualifies: Mapped[bool] = mapped_column(Boolean)
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
