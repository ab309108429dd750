"""Response models for partners: agencies, deliveries and disclosures."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from casebridge.common.schemas import Page, ReadSchema
from casebridge.sharing.registry_schemas import AgencyRead

__all__ = ["AgencyRead", "DeliveryPage", "DeliveryRead", "DisclosurePage", "DisclosureRead"]


class DeliveryRead(ReadSchema):
    id: UUID
    disclosure_id: UUID
    subject: str
    event_type: str
    data: dict[str, Any]
    created_at: datetime


class DisclosureRead(ReadSchema):
    id: UUID
    source_event_id: UUID
    source_event_type: str
    recipient_agency_id: UUID
    fields: list[str]
    purpose: str
    legal_basis: str
    outcome: str
    reason: str | None
    occurred_at: datetime


DeliveryPage = Page[DeliveryRead]
DisclosurePage = Page[DisclosureRead]
