"""Events produced by review (`review.<area>.<name>.v<n>`). Additive-only.

Identifiers, states and counts only: names, contact details and narratives stay in review.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel

from casebridge.common.events.envelope import Contract, register


class _ReviewEvent(Contract):
    source: ClassVar[str] = "review"


@register
class TriggerRaised(_ReviewEvent):
    """A victim (or, for `community`, a problem in one place) met a rule, once per episode.

    kind: second_report | statutory | community | hate | high_risk.
    """

    name: ClassVar[str] = "trigger.raised"
    aggregate_type: ClassVar[str] = "trigger"

    trigger_id: UUID
    kind: str
    person_id: UUID | None = None
    complaint_ids: list[UUID]
    incidents: int
    complainants: int
    rule: str
    raised_at: datetime
    review_id: UUID | None = None


@register
class TriggerExplained(_ReviewEvent):
    """An agency recorded that it explained the case review to the victim (second report)."""

    name: ClassVar[str] = "trigger.explained"
    aggregate_type: ClassVar[str] = "trigger"

    trigger_id: UUID
    person_id: UUID | None = None
    agency_id: UUID
    explained_at: datetime


@register
class ReviewApplied(_ReviewEvent):
    """An application for an ASB case review was received (or started automatically)."""

    name: ClassVar[str] = "case_review.applied"
    aggregate_type: ClassVar[str] = "case_review"

    review_id: UUID
    reference: str
    person_id: UUID | None = None
    applicant_kind: str
    received_by_agency_id: UUID
    complaint_ids: list[UUID]
    trigger_id: UUID | None = None
    automatic: bool = False
    applied_at: datetime

    # Added with issue 11 (additive): applied_at is when the application was received (every
    # deadline runs from it); recorded_at the server's own time; backdated when the receipt
    # was recorded on a later day.
    recorded_at: datetime | None = None
    backdated: bool = False


@register
class ReviewTransitioned(_ReviewEvent):
    """A case review moved from one stage to the next (one event per transition)."""

    name: ClassVar[str] = "case_review.transitioned"
    aggregate_type: ClassVar[str] = "case_review"

    review_id: UUID
    reference: str
    action: str
    from_state: str
    to_state: str
    agency_id: UUID | None = None
    at: datetime


class BehaviourCount(BaseModel):
    """One behaviour an application concerns, as the threshold decision counted it."""

    number: int
    qualifying_incidents: int
    met: bool


@register
class ThresholdDecided(_ReviewEvent):
    """The threshold was decided: automatically under the statutory rule, or by panel votes."""

    name: ClassVar[str] = "case_review.threshold_decided"
    aggregate_type: ClassVar[str] = "case_review"

    review_id: UUID
    reference: str
    met: bool
    automatic: bool
    qualifying_incidents: int
    votes_met: int = 0
    votes_not_met: int = 0
    decided_at: datetime

    # Added with issue 11 (additive). decided_by: statutory | panel | spoc (the panel had no
    # quorum) | escalation (a re-decision by the area's escalation body).
    decided_by: str | None = None
    votes_abstained: int = 0
    abstained_agency_ids: list[UUID] = []
    # Per behaviour the application concerns: {number, qualifying_incidents, met}.
    behaviours: list[BehaviourCount] = []
    considered_complaints: int | None = None
    counted_complaint_ids: list[UUID] = []


class ActionSummary(BaseModel):
    agency_id: UUID
    due_on: date


@register
class RecommendationsMade(_ReviewEvent):
    """The review agreed recommendations and an action plan (a published figure)."""

    name: ClassVar[str] = "case_review.recommendations_made"
    aggregate_type: ClassVar[str] = "case_review"

    review_id: UUID
    reference: str
    lead_agency_id: UUID
    recommendations: int
    actions: list[ActionSummary]
    victim_consulted: bool
    agreed_at: datetime


@register
class DeadlineMissed(_ReviewEvent):
    """A stage's deadline passed before the stage was done (raised once per deadline)."""

    name: ClassVar[str] = "case_review.deadline_missed"
    aggregate_type: ClassVar[str] = "case_review"

    review_id: UUID
    reference: str
    deadline_id: UUID
    stage: str
    due_on: date
    rule: str
    raised_at: datetime


@register
class EscalationDecided(_ReviewEvent):
    """The area's escalation body decided on an applicant's request to look again.

    escalated: threshold (a "not met" decision) | outcome. upheld: the request succeeded (for
    a threshold, the re-decision is "met" and the review goes ahead).
    """

    name: ClassVar[str] = "case_review.escalation_decided"
    aggregate_type: ClassVar[str] = "case_review"

    review_id: UUID
    reference: str
    escalated: str
    body: str
    body_kind: str
    upheld: bool
    requested_at: datetime
    decided_at: datetime


@register
class LetterIssued(_ReviewEvent):
    """A letter to the applicant was rendered and stored with the review."""

    name: ClassVar[str] = "case_review.letter_issued"
    aggregate_type: ClassVar[str] = "case_review"

    review_id: UUID
    reference: str
    letter_id: UUID
    kind: str
    issued_at: datetime

    # Added with issue 11 (additive): the letter can be fetched as PDF as well as HTML.
    formats: list[str] = ["html"]


@register
class ProcedureChanged(_ReviewEvent):
    """An area's case review procedure was set or changed: who its SPOC and its panel are.

    Agency ids only (names and contact details stay in review), so every service decides on
    the SPOC and panel review holds: sharing delivers review data to them under the protocol
    (the `spoc` and `panel` relations). `procedure_version` is the procedure's: the latest wins.
    """

    name: ClassVar[str] = "procedure.changed"
    aggregate_type: ClassVar[str] = "area_procedure"

    area_id: UUID
    procedure_version: int
    spoc_agency_id: UUID | None = None
    panel_agency_ids: list[UUID] = []
    changed_at: datetime
