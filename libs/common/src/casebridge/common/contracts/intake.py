"""Events produced by intake (`intake.<area>.<name>.v<n>`). Additive-only."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel

from casebridge.common.events.envelope import Contract, register


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

    # Added with issue 3 (additive): when consent was recorded, what kind of complainant.
    consent_recorded_at: datetime | None = None
    complainant_kind: str | None = None
    status: str = "open"
    # Added with the information-sharing protocol (additive): the landlords of the alleged
    # perpetrators (they never learn who complained) and the purposes of overrides.
    perpetrator_landlord_ids: list[UUID] = []
    override_purposes: list[str] = []

    # Added with issue 11 (additive): the server's own recording time beside `reported_at`,
    # and, when the report date was back-dated to an earlier day, who did it and why.
    recorded_at: datetime | None = None
    backdated: bool = False
    backdated_reason: str | None = None
    backdated_by: str | None = None


@register
class ComplaintUpdated(_IntakeEvent):
    """A handler corrected a complaint; `changed` names the fields (values stay in intake)."""

    name: ClassVar[str] = "complaint.updated"
    aggregate_type: ClassVar[str] = "complaint"

    complaint_id: UUID
    reference: str
    area_id: UUID
    receiving_agency_id: UUID
    person_id: UUID | None = None
    changed: list[str]
    status: str
    nsir_category: str
    asb_type: str
    hate_motivated: bool
    shared_by_override: bool = False
    updated_at: datetime
    # Added with the information-sharing protocol (additive): the complaint's basis.
    consent_to_share: str | None = None
    override_purposes: list[str] = []


@register
class IncidentLinked(_IntakeEvent):
    """A complaint now belongs to an incident that other complaints describe too."""

    name: ClassVar[str] = "incident.linked"
    aggregate_type: ClassVar[str] = "incident"

    complaint_id: UUID
    incident_id: UUID
    previous_incident_id: UUID
    linked_at: datetime


@register
class IncidentUnlinked(_IntakeEvent):
    """A complaint left a shared incident; it is its own incident again."""

    name: ClassVar[str] = "incident.unlinked"
    aggregate_type: ClassVar[str] = "incident"

    complaint_id: UUID
    incident_id: UUID
    previous_incident_id: UUID
    unlinked_at: datetime


@register
class PersonMerged(_IntakeEvent):
    """A duplicate complaint log was merged into another; its complaints moved with it."""

    name: ClassVar[str] = "person.merged"
    aggregate_type: ClassVar[str] = "person"

    survivor_id: UUID
    merged_id: UUID
    complaint_ids: list[UUID]
    merged_by_agency_id: UUID
    merged_at: datetime


@register
class RiskAssessed(_IntakeEvent):
    """A risk assessment was recorded; a `high` band needs partners to act at once."""

    name: ClassVar[str] = "risk.assessed"
    aggregate_type: ClassVar[str] = "complaint"

    assessment_id: UUID
    complaint_id: UUID
    person_id: UUID | None = None
    receiving_agency_id: UUID
    config_version: str
    score: int
    band: str
    previous_band: str | None = None
    assessed_at: datetime


@register
class ConsentChanged(_IntakeEvent):
    """The victim's consent to share changed (given, refused, withdrawn)."""

    name: ClassVar[str] = "consent.changed"
    aggregate_type: ClassVar[str] = "complaint"

    complaint_id: UUID
    person_id: UUID | None = None
    receiving_agency_id: UUID
    consent_to_share: str
    previous: str
    recorded_at: datetime
    override_purposes: list[str] = []


@register
class RepeatVictimMarked(_IntakeEvent):
    """A person met the area's repeat-victim rule (e.g. 3 incidents in 3 months)."""

    name: ClassVar[str] = "person.repeat_victim_marked"
    aggregate_type: ClassVar[str] = "person"

    person_id: UUID
    complaint_ids: list[UUID]
    incidents: int
    rule: str
    marked_at: datetime


@register
class ComplaintReferenceAdded(_IntakeEvent):
    """An agency attached its own reference (a police CAD or crime number, a council case
    number) to a complaint after it was logged. Added with issue 13 (a new event)."""

    name: ClassVar[str] = "complaint.reference_added"
    aggregate_type: ClassVar[str] = "complaint"

    complaint_id: UUID
    reference: str
    area_id: UUID
    receiving_agency_id: UUID
    person_id: UUID | None = None
    agency_reference: AgencyReference
    added_at: datetime
    # The complaint's basis, for the partners' deliveries (as on ComplaintUpdated).
    consent_to_share: str = "not_asked"
    override_purposes: list[str] = []
    perpetrator_landlord_ids: list[UUID] = []


@register
class PersonVulnerabilityChanged(_IntakeEvent):
    """A log was flagged vulnerable, or the flag cleared: from risk answers the area's
    matrix flags as indicators, or by an officer with a reason. Carries whether and where
    from, never the reasons themselves (special category). Added with issue 13."""

    name: ClassVar[str] = "person.vulnerability_changed"
    aggregate_type: ClassVar[str] = "person"

    person_id: UUID
    vulnerable: bool
    previous: bool
    origin: str  # risk_answers | officer
    agency_id: UUID
    complaint_id: UUID | None = None
    changed_at: datetime
    consent_to_share: str = "not_asked"
    override_purposes: list[str] = []
