"""Stats read models: counts, and per-review dates to derive counts from. No personal data,
no free text (LEG-R8): no names, contact details, addresses finer than a postcode district,
person or complaint ids, or references. A review's and a trigger's id are kept (they name a
case, not a person) so that a review is counted once whatever its events' order or number."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casebridge.common.db import TYPE_ANNOTATION_MAP, service_metadata
from casebridge.common.events.models import DeadLetter, OutboxMessage, ProcessedMessage

__all__ = [
    "READ_MODELS",
    "Area",
    "Base",
    "ComplaintCount",
    "ComplaintDistrictCount",
    "DailyCount",
    "DeadLetter",
    "MonthlyCount",
    "OutboxMessage",
    "PartnerCount",
    "ProcessedMessage",
    "RepeatVictimCount",
    "ReviewFact",
    "ReviewStage",
    "RiskCount",
    "TriggerFact",
    "VulnerabilityCount",
]

_ZERO = text("0")


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class Area(Base):
    """An area seen in events; its code is read from the prefix of the references its events
    carry (intake's `DMO-2026-000001-7` wins over review's `CR-DMO-2026-000001`)."""

    __tablename__ = "area"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(6), index=True)
    code_from: Mapped[str | None] = mapped_column(String(6))  # "intake" | "review"


class ComplaintCount(Base):
    """Complaints per area, month, receiving agency, type, category, channel and hate flag."""

    __tablename__ = "complaint_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    asb_type: Mapped[str] = mapped_column(String(60), primary_key=True)
    nsir_category: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    hate_motivated: Mapped[bool] = mapped_column(primary_key=True)
    complaints: Mapped[int] = mapped_column(Integer, server_default=_ZERO)


class ComplaintDistrictCount(Base):
    """Complaints per area, month and postcode district (the outward code, `SW1A`)."""

    __tablename__ = "complaint_district_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    postcode_district: Mapped[str] = mapped_column(String(8), primary_key=True)
    complaints: Mapped[int] = mapped_column(Integer, server_default=_ZERO)


class RiskCount(Base):
    """Risk assessments per area, month, assessing agency and band."""

    __tablename__ = "risk_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    band: Mapped[str] = mapped_column(String(20), primary_key=True)
    assessments: Mapped[int] = mapped_column(Integer, server_default=_ZERO)


class RepeatVictimCount(Base):
    """People marked as repeat victims (once per episode) per area and month."""

    __tablename__ = "repeat_victim_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    marks: Mapped[int] = mapped_column(Integer, server_default=_ZERO)


class VulnerabilityCount(Base):
    """Logs flagged vulnerable (`flagged`) or cleared (`cleared`) per area, month and where
    the flag came from (`risk_answers` or `officer`). Counts changes, never who or why."""

    __tablename__ = "vulnerability_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    origin: Mapped[str] = mapped_column(String(20), primary_key=True)
    change: Mapped[str] = mapped_column(String(10), primary_key=True)
    changes: Mapped[int] = mapped_column(Integer, server_default=_ZERO)


class PartnerCount(Base):
    """What partners received (`delivery`, by outcome) and recorded (`update`) per month."""

    __tablename__ = "partner_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    activity: Mapped[str] = mapped_column(String(10), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, server_default=_ZERO)


class DailyCount(Base):
    """Reviews (and second-report prompts) per area, day and measure, derived from the facts
    below: a fact's change moves its contribution from one cell to another, so the figures
    never depend on the order the events came in."""

    __tablename__ = "daily_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    measure: Mapped[str] = mapped_column(String(30), primary_key=True)
    detail: Mapped[str] = mapped_column(String(30), primary_key=True, server_default="")
    value: Mapped[int] = mapped_column(Integer, server_default=_ZERO)


class MonthlyCount(Base):
    """The daily counts summed by month (kept beside them, changed with them): periods made
    of whole months read a few rows instead of every day."""

    __tablename__ = "monthly_count"

    area_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    measure: Mapped[str] = mapped_column(String(30), primary_key=True)
    detail: Mapped[str] = mapped_column(String(30), primary_key=True, server_default="")
    value: Mapped[int] = mapped_column(Integer, server_default=_ZERO)


class ReviewFact(Base):
    """What is known of one case review: dates (Europe/London) and outcomes only."""

    __tablename__ = "review_fact"

    review_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    area_id: Mapped[uuid.UUID]
    applied_at: Mapped[datetime | None]
    applied_on: Mapped[date | None] = mapped_column(Date)
    automatic: Mapped[bool | None]
    acknowledged_at: Mapped[datetime | None]
    first_decided_at: Mapped[datetime | None]
    first_met_on: Mapped[date | None] = mapped_column(Date)
    first_not_met_on: Mapped[date | None] = mapped_column(Date)
    last_decided_at: Mapped[datetime | None]
    last_met: Mapped[bool | None]
    held_on: Mapped[date | None] = mapped_column(Date)
    recommended_on: Mapped[date | None] = mapped_column(Date)
    recommendations: Mapped[int | None] = mapped_column(SmallInteger)
    escalated_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_review_fact_area_applied", "area_id", "applied_on"),)


class ReviewStage(Base):
    """One stage's deadline of one review: when the stage was done, when it was overdue."""

    __tablename__ = "review_stage"

    review_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(30), primary_key=True)
    area_id: Mapped[uuid.UUID]
    done_on: Mapped[date | None] = mapped_column(Date)
    missed_on: Mapped[date | None] = mapped_column(Date)


class TriggerFact(Base):
    """A trigger review raised (e.g. a second report in six months) and when it was
    explained to the victim."""

    __tablename__ = "trigger_fact"

    trigger_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    area_id: Mapped[uuid.UUID]
    kind: Mapped[str | None] = mapped_column(String(30))
    raised_on: Mapped[date | None] = mapped_column(Date)
    explained_on: Mapped[date | None] = mapped_column(Date)


# Every table built from events: wiped and rebuilt by `casebridge-stats rebuild`.
READ_MODELS: tuple[type[Base], ...] = (
    Area,
    ComplaintCount,
    ComplaintDistrictCount,
    RiskCount,
    RepeatVictimCount,
    VulnerabilityCount,
    PartnerCount,
    DailyCount,
    MonthlyCount,
    ReviewFact,
    ReviewStage,
    TriggerFact,
)
