"""Request and response models (never the ORM classes' own names)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from casebridge.common.schemas import Page, ReadSchema, Schema, ShortText

ReviewState = Literal[
    "received",
    "acknowledged",
    "threshold_met",
    "threshold_not_met",
    "meeting_scheduled",
    "meeting_held",
    "action_plan_agreed",
    "outcome_communicated",
    "accepted",
    "escalated",
    "closed",
]
LongText = Annotated[str, Field(min_length=1, max_length=5_000)]


class AreaConfigRead(ReadSchema):
    area_id: UUID
    version: int
    document: str
    rules: dict[str, Any]
    created_by: str
    created_at: datetime


class TriggerRead(ReadSchema):
    id: UUID
    kind: str
    state: str
    person_id: UUID | None
    complaint_ids: list[UUID]
    detail: dict[str, Any]
    raised_at: datetime
    explained_at: datetime | None
    explained_by_agency_id: UUID | None
    review_id: UUID | None


TriggerPage = Page[TriggerRead]


class Explanation(Schema):
    note: str | None = Field(default=None, max_length=2_000)


class ReviewApply(Schema):
    """An application by the victim, or by a representative with the victim's consent."""

    applicant_kind: Literal["victim", "representative"]
    person_id: UUID = Field(description="the victim's complaint log at intake")
    anonymous: bool = False
    applicant_name: ShortText | None = None
    applicant_contact: ShortText | None = None
    relationship: ShortText | None = Field(
        default=None, description="the representative's relationship to the victim"
    )
    victim_consent: bool = False
    summary: LongText
    complaint_ids: list[UUID] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _who_applies(self) -> ReviewApply:
        if self.anonymous:
            return self  # refused by the service, with the law's reason
        if not self.applicant_name or not self.applicant_contact:
            raise ValueError("applicant_name and applicant_contact are required")
        if self.applicant_kind == "representative":
            if not self.victim_consent:
                raise ValueError("a representative applies only with the victim's consent")
            if not self.relationship:
                raise ValueError("a representative must state their relationship to the victim")
        return self


class ReviewRead(ReadSchema):
    id: UUID
    reference: str
    state: str
    person_id: UUID | None
    applicant_kind: str
    applicant_name: str
    applicant_contact: str
    relationship: str | None
    consent_recorded: bool
    received_by_agency_id: UUID
    summary: str
    complaint_ids: list[UUID]
    trigger_id: UUID | None
    config_version: int
    threshold_met: bool | None
    threshold_automatic: bool | None
    threshold_reasons: str | None
    meeting_at: datetime | None
    minutes: str | None
    information_supplied: dict[str, str]
    lead_agency_id: UUID | None
    recommendations: list[str]
    victim_consulted: bool | None
    outcome: str | None
    escalation_reason: str | None
    closure_reason: str | None
    applied_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    allowed_actions: list[str] = []


ReviewPage = Page[ReviewRead]


class VoteCreate(Schema):
    met: bool
    reason: LongText


class MeetingSchedule(Schema):
    meeting_at: datetime


class MeetingHeld(Schema):
    minutes: Annotated[str, Field(min_length=1, max_length=10_000)]
    information_supplied: dict[UUID, LongText] = Field(
        default_factory=dict, max_length=30, description="what each agency supplied"
    )


class PlannedActionCreate(Schema):
    agency_id: UUID
    description: LongText
    due_on: date


class ActionPlanCreate(Schema):
    lead_agency_id: UUID
    recommendations: list[LongText] = Field(min_length=1, max_length=50)
    actions: list[PlannedActionCreate] = Field(min_length=1, max_length=100)
    victim_consulted: bool


class Outcome(Schema):
    outcome: LongText


class Escalation(Schema):
    reason: LongText


class Closure(Schema):
    reason: LongText


class TransitionRead(ReadSchema):
    action: str
    from_state: str | None
    to_state: str
    agency_id: UUID | None
    reason: str | None
    at: datetime


class DeadlineRead(ReadSchema):
    id: UUID
    stage: str
    starts_on: date
    due_on: date
    rule: str
    met_at: datetime | None
    overdue_raised_at: datetime | None


class LetterRead(ReadSchema):
    id: UUID
    kind: str
    created_at: datetime


class NextDeadline(Schema):
    stage: str
    due_on: date


class SpocContact(Schema):
    name: str
    email: str | None
    phone: str | None


class ReviewStatus(Schema):
    """What the applicant may be told: nothing about anyone else."""

    reference: str
    stage: str
    threshold_met: bool | None
    next_deadline: NextDeadline | None
    spoc: SpocContact
    escalation_body: str
