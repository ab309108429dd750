"""Response models for partners and DPOs: agencies, the protocol's versions, invitations,
deliveries and disclosures."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import Field, model_validator

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
    "PartnerUpdateCreate",
    "PartnerUpdateRead",
    "ProtocolVersionPage",
    "ProtocolVersionRead",
    "ProtocolVersionSummary",
    "WebhookAttemptRead",
    "WebhookMessagePage",
    "WebhookMessageRead",
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


class UpdateAction(StrEnum):
    """What a partner did about a case."""

    visit = "visit"
    phone_call = "phone_call"
    letter = "letter"
    warning = "warning"
    acceptable_behaviour_contract = "acceptable_behaviour_contract"
    community_protection_notice = "community_protection_notice"
    injunction_application = "injunction_application"
    tenancy_action = "tenancy_action"
    safeguarding_referral = "safeguarding_referral"
    referral = "referral"
    patrol = "patrol"
    mediation = "mediation"
    case_conference = "case_conference"
    other = "other"


class UpdateOutcome(StrEnum):
    completed = "completed"
    in_progress = "in_progress"
    no_contact = "no_contact"
    declined = "declined"
    escalated = "escalated"
    closed = "closed"


# Printable text (new lines and tabs allowed), never only spaces.
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# A next step is due within two years (a typo in the year is caught).
MAX_DUE_DAYS = 731


class PartnerUpdateCreate(Schema):
    """What the calling agency did about the case; a due date goes with a next step and is
    today or later."""

    action: UpdateAction
    note: str = Field(min_length=1, max_length=2000, pattern=_TEXT)
    outcome: UpdateOutcome
    next_step: str | None = Field(default=None, min_length=1, max_length=500, pattern=_TEXT)
    due_on: date | None = Field(default=None, examples=["2026-12-14"])

    @model_validator(mode="after")
    def _next_step_is_dated_sensibly(self) -> PartnerUpdateCreate:
        if self.due_on is not None:
            if self.next_step is None:
                raise ValueError("due_on needs the next_step it is the due date of")
            today = date.today()
            if self.due_on < today:
                raise ValueError("due_on is in the past")
            if (self.due_on - today).days > MAX_DUE_DAYS:
                raise ValueError("due_on is more than two years ahead")
        return self


class PartnerUpdateRead(ReadSchema):
    id: UUID
    case_reference: str
    agency_id: UUID
    action: str
    note: str
    outcome: str
    next_step: str | None
    due_on: date | None
    recorded_at: datetime


class InvitationRead(ReadSchema):
    case_reference: str
    agency_id: UUID
    invited: bool
    reason: str
    changed_by_client: str
    changed_at: datetime


class WebhookMessageRead(ReadSchema):
    """A delivery owed to one of the caller's webhook endpoints: `id` is the `webhook-id`
    header every attempt carries."""

    id: UUID
    delivery_id: UUID
    endpoint_id: UUID
    state: str = Field(description="pending, delivered or dead")
    attempts: int = Field(description="attempts made since it was owed (or re-driven)")
    next_attempt_at: datetime
    last_status: int | None = Field(description="the HTTP status of the last attempt")
    last_error: str | None = Field(description="why the last attempt failed")
    created_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None


class WebhookAttemptRead(ReadSchema):
    attempt: int
    url: str
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    succeeded: bool


DeliveryPage = Page[DeliveryRead]
WebhookMessagePage = Page[WebhookMessageRead]
DisclosurePage = Page[DisclosureRead]
AuditPage = Page[DisclosureAudit]
ProtocolVersionPage = Page[ProtocolVersionSummary]
