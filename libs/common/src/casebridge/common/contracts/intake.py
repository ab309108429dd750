"""Events produced by intake (`intake.<area>.<name>.v<n>`). Additive-only."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from casebridge.common.events.envelope import Contract, register
from pydantic import BaseModel


class AgencyReference(BaseModel):
    agency_id: UUID
    reference: str


class _IntakeEvent(Contract):
    source: ClassVar[str] = "intake"


@register
class ComplaintLogged(_IntakeEvent):
    """A complaint was recorded. Carries identifiers and categories, never the narrative."""

    name: ClassVar[str] = "complaint.logged"
    aggregate_type: ClassVar[str] = "complaint"

    complaint_id: UUID
    reference: str
    area_id: UUID
    receiving_agency_id: UUID
    person_id: UUID | None = None
    incident_id: UUID | None = None
    channel: str
    nsir_category: str
    asb_type: str
    hate_motivated: bool = False
    anonymous: bool = False
    occurred_at: datetime
    reported_at: datetime
    postcode: str | None = None
    perpetrator_keys: list[str] = []
    consent_to_share: str = "not_asked"
    agency_references: list[AgencyReference] = []
