"""A complaint as the recorder logs it: plain data (no ORM objects on the hot path) that
reads like a `Complaint` for the presenters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from casebridge.intake import recording, rows


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
        return {column: getattr(self, column) for column in recording.COMPLAINT_COLUMNS}

    def told(self) -> dict[str, Any]:
        """What the caller is told beyond the complaint's own fields (catalogue names)."""
        told: dict[str, Any] = {
            "risk_band": self.risk_band,
            "risk_next_step": self.risk_next_step,
            "vulnerable": self.vulnerable,
        }
        return {name: value for name, value in told.items() if value is not None}
