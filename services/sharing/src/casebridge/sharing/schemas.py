"""Response models for partners and DPOs: agencies, the protocol's versions, invitations,
deliveries and disclosures."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from casebridge.common.schemas import Page, ReadSchema, Schema
from casebridge.sharing.registry_schemas import AgencyRead

__all__ = [
    "AgencyRead",
    "AuditPage",
    "DeliveryPage",
    "DeliveryRead",
    "DisclosureAudit",
    "DisclosurePage",
    "DisclosureRead",
    "FeedItem",
    "FeedPage",
    "InvitationCreate",
    "InvitationRead",
    "ProtocolVersionPage",
    "ProtocolVersionRead",
    "ProtocolVersionSummary",
]


class DeliveryRead(ReadSchema):
    id: UUID
    disclosure_id: UUID
    subject: str
    event_type: str
    data: dict[str, Any]
    created_at: datetime


class FeedItem(DeliveryRead):
    position: int = Field(
        validation_alias="seq", description="the delivery's place in the feed (an `after`)"
    )


class FeedPage(ReadSchema):
    """Deliveries oldest first after the cursor; `cursor` is what to send as `after` next."""

    items: list[FeedItem]
    cursor: int


class DisclosureRead(ReadSchema):
    """A disclosure decision about the caller's agency (what it received, or why not)."""

    id: UUID
    source_event_id: UUID
    source_event_type: str
    recipient_agency_id: UUID
    fields: list[str]
    purpose: str | None = Field(description="the first of `purposes`")
    legal_basis: str | None = Field(description="the first of `legal_bases`")
    outcome: str
    reason: str | None
    occurred_at: datetime
    redacted: list[str]
    purposes: list[str]
    legal_bases: list[str]
    protocol_version: int | None


class DisclosureAudit(DisclosureRead):
    """A disclosure as the DPO's audit shows it: about whose record, from which case, and
    whose record it was."""

    area_id: UUID
    data_class: str | None
    controller_agency_id: UUID | None
    source_reference: str | None
    person_id: UUID | None


# ---- the protocol -----------------------------------------------------------------------
class ProtocolVersionSummary(ReadSchema):
    area_id: UUID
    version: int
    published_at: datetime
    published_by_client: str
    published_by_subject: str


class ProtocolVersionRead(ProtocolVersionSummary):
    document: dict[str, Any]
    text: str = Field(description="the canonical YAML that versions are compared in")
    diff: str = Field(description="unified diff from the version before")


# ---- invitations ------------------------------------------------------------------------
class InvitationCreate(Schema):
    agency_id: UUID
    reason: str = Field(min_length=1, max_length=500, examples=["adult social care assessment"])


class InvitationRead(ReadSchema):
    case_reference: str
    agency_id: UUID
    invited: bool
    reason: str
    changed_by_client: str
    changed_at: datetime


DeliveryPage = Page[DeliveryRead]
DisclosurePage = Page[DisclosureRead]
AuditPage = Page[DisclosureAudit]
ProtocolVersionPage = Page[ProtocolVersionSummary]
