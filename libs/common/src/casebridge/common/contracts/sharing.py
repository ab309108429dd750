"""Events produced by sharing (`sharing.<area>.<name>.v<n>`). Additive-only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel

from casebridge.common.events.envelope import Contract, register


class _SharingEvent(Contract):
    source: ClassVar[str] = "sharing"


@register
class DisclosureRecorded(_SharingEvent):
    """Information went to a partner (or was refused): no values, only field names.
    No longer published (sharing says every recipient of an event in one
    `DisclosuresRecorded`); kept so the streams' older events still read."""

    name: ClassVar[str] = "disclosure.recorded"
    aggregate_type: ClassVar[str] = "disclosure"

    disclosure_id: UUID
    source_event_id: UUID
    source_event_type: str
    recipient_agency_id: UUID
    fields: list[str]
    outcome: str
    occurred_at: datetime
    # Added with the sharing service (additive): why, under which law, the recipient's kind.
    purpose: str | None = None
    legal_basis: str | None = None
    recipient_kind: str | None = None
    reason: str | None = None
    # Added with the protocol (issue 9, additive): every purpose and legal basis the
    # disclosure relied on, the fields withheld, the protocol version that decided it, the
    # record's controller (the agency that recorded it) and the case's reference.
    purposes: list[str] = []
    legal_bases: list[str] = []
    redacted: list[str] = []
    protocol_version: int | None = None
    controller_agency_id: UUID | None = None
    source_reference: str | None = None


class DisclosureMade(BaseModel):
    """One recipient's disclosure in `DisclosuresRecorded`: what `DisclosureRecorded` says
    of one recipient (field names, never values)."""

    disclosure_id: UUID
    recipient_agency_id: UUID
    recipient_kind: str | None = None
    fields: list[str]
    outcome: str
    purpose: str | None = None
    legal_basis: str | None = None
    reason: str | None = None
    purposes: list[str] = []
    legal_bases: list[str] = []
    redacted: list[str] = []


@register
class DisclosuresRecorded(_SharingEvent):
    """Every disclosure decided for one shared event, to each partner (or refused), in one
    message. Replaces one `DisclosureRecorded` per recipient, which made most of the
    SHARING stream and of stats' work; stats still counts the older events it replays."""

    name: ClassVar[str] = "disclosures.recorded"
    aggregate_type: ClassVar[str] = "shared_event"

    source_event_id: UUID
    source_event_type: str
    occurred_at: datetime
    protocol_version: int | None = None
    controller_agency_id: UUID | None = None
    source_reference: str | None = None
    disclosures: list[DisclosureMade]

    def each(self) -> list[DisclosureRecorded]:
        """One `DisclosureRecorded` per recipient, as the older event said it."""
        shared = {
            "source_event_id": self.source_event_id,
            "source_event_type": self.source_event_type,
            "occurred_at": self.occurred_at,
            "protocol_version": self.protocol_version,
            "controller_agency_id": self.controller_agency_id,
            "source_reference": self.source_reference,
        }
        return [DisclosureRecorded(**shared, **made.model_dump()) for made in self.disclosures]


@register
class PartnerUpdateRecorded(_SharingEvent):
    """A partner recorded what it did about a case (a complaint or a case review): shared
    onward under the protocol's `partner_update` rules, and shown in intake's timeline."""

    name: ClassVar[str] = "partner_update.recorded"
    aggregate_type: ClassVar[str] = "partner_update"

    update_id: UUID
    case_reference: str
    case_kind: str  # complaint or review
    case_id: UUID
    area_id: UUID
    agency_id: UUID
    action: str
    note: str
    outcome: str
    next_step: str | None = None
    due_on: date | None = None
    recorded_at: datetime
    person_id: UUID | None = None


# ---- the partner registry and the information-sharing protocol -----------------------------
# Produced by sharing on `registry.<area>.<name>.v<n>` (stream REGISTRY, kept forever):
# intake and review keep replicas of these, so their reads decide locally, and a new replica
# reads them from the start.


class _RegistryEvent(Contract):
    source: ClassVar[str] = "registry"


@register
class AreaRegistered(_RegistryEvent):
    """A Community Safety Partnership area joined (or was renamed)."""

    name: ClassVar[str] = "area.registered"
    aggregate_type: ClassVar[str] = "area"

    area_id: UUID
    code: str
    area_name: str
    registered_at: datetime


@register
class AgencyChanged(_RegistryEvent):
    """An agency was registered or changed; `revision` orders announcements of one agency."""

    name: ClassVar[str] = "agency.changed"
    aggregate_type: ClassVar[str] = "agency"

    agency_id: UUID
    area_id: UUID
    agency_name: str
    kind: str
    core_partner: bool
    active: bool
    revision: int
    changed_at: datetime
    ods_code: str | None = None
    police_force_code: str | None = None


@register
class ProtocolPublished(_RegistryEvent):
    """A new version of the area's information-sharing protocol is in force."""

    name: ClassVar[str] = "protocol.published"
    aggregate_type: ClassVar[str] = "protocol"

    protocol_version: int
    document: dict[str, Any]
    published_at: datetime
    published_by: str


@register
class InvitationChanged(_RegistryEvent):
    """An agency was invited to one case (complaint or review reference), or removed."""

    name: ClassVar[str] = "invitation.changed"
    aggregate_type: ClassVar[str] = "case"

    case_reference: str
    agency_id: UUID
    invited: bool
    reason: str
    changed_at: datetime


@register
class ClientRevoked(_RegistryEvent):
    """A client's credentials were revoked: its tokens must stop working everywhere."""

    name: ClassVar[str] = "client.revoked"
    aggregate_type: ClassVar[str] = "client"

    client_id: str
    agency_id: UUID
    revoked_at: datetime
