"""Request and response models (never the ORM classes' own names)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from casebridge.common.schemas import Page, ReadSchema, Schema, SharedView, ShortText

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
    "escalation_decided",
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


class TriggerRead(SharedView):
    """A trigger as the caller may see it (the information-sharing protocol decides)."""

    id: UUID | None = None
    kind: str | None = None
    state: str | None = None
    person_id: UUID | None = None
    complaint_ids: list[UUID] | None = None
    detail: dict[str, Any] | None = None
    raised_at: datetime | None = None
    explained_at: datetime | None = None
    explained_by_agency_id: UUID | None = None
    review_id: UUID | None = None


TriggerPage = Page[TriggerRead]


class Explanation(Schema):
    note: str | None = Field(default=None, max_length=2_000)


class BehaviourChoice(Schema):
    """The behaviour the application concerns, named by one complaint about it."""

    complaint_id: UUID = Field(description="a complaint about it (one of the victim's)")
    note: ShortText | None = Field(default=None, description="the behaviour in their words")


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
    behaviour: BehaviourChoice | None = Field(
        default=None,
        description="the behaviour the application concerns; without it every behaviour among "
        "the complaints is decided on its own",
    )
    received_at: AwareDatetime | None = Field(
        default=None,
        description="when the application was received (e.g. a letter entered days later); "
        "every deadline runs from it. Never in the future; an earlier day than today needs "
        "backdated_reason and may be at most the area's backdating.max_days back (default 14)",
    )
    backdated_reason: ShortText | None = None

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


class ReviewRead(SharedView):
    """A review as the caller may see it: the fields the area's information-sharing protocol
    grants it (the SPOC and the panel see the application whole; the applicant's details go
    to nobody else), its complaints as far as the caller may see them."""

    id: UUID | None = None
    reference: str | None = None
    state: str | None = None
    person_id: UUID | None = None
    applicant_kind: str | None = None
    applicant_name: str | None = None
    applicant_contact: str | None = None
    relationship: str | None = None
    consent_recorded: bool | None = None
    received_by_agency_id: UUID | None = None
    summary: str | None = None
    complaint_ids: list[UUID] | None = None
    behaviour_complaint_id: UUID | None = None
    behaviour_note: str | None = None
    trigger_id: UUID | None = None
    config_version: int | None = None
    threshold_met: bool | None = None
    threshold_automatic: bool | None = None
    threshold_reasons: str | None = None
    meeting_at: datetime | None = None
    minutes: str | None = None
    information_supplied: dict[str, str] | None = None
    lead_agency_id: UUID | None = None
    recommendations: list[str] | None = None
    victim_consulted: bool | None = None
    outcome: str | None = None
    escalation_reason: str | None = None
    escalation_of: str | None = None
    escalation_requested_at: datetime | None = None
    escalation_upheld: bool | None = None
    escalation_decision: str | None = None
    closure_reason: str | None = None
    applied_at: datetime | None = Field(
        default=None, description="when the application was received"
    )
    recorded_at: datetime | None = Field(
        default=None, description="when it was recorded (the server's time)"
    )
    backdated_reason: str | None = None
    backdated_by: str | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    allowed_actions: list[str] | None = None
    access_code: str | None = Field(
        default=None,
        description="acknowledge only: the applicant's access code, shown this once (only "
        "its hash is kept; the letter kept shows it masked)",
    )


ReviewPage = Page[ReviewRead]


class VoteCreate(Schema):
    """A core partner's vote (met true or false), or its abstention (abstain true: conflict of
    interest, no involvement), with the reason either way."""

    met: bool | None = None
    abstain: bool = False
    reason: LongText

    @model_validator(mode="after")
    def _vote_or_abstain(self) -> VoteCreate:
        if self.abstain == (self.met is not None):
            raise ValueError("give met (true or false), or abstain: true, but not both")
        return self


class SpocDecision(Schema):
    met: bool
    reason: LongText


class BehaviourChange(Schema):
    """The SPOC names the behaviour the application concerns (before the decision)."""

    complaint_id: UUID
    note: ShortText | None = None


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
    """The applicant asks the area's escalation body to look again (within its window)."""

    reason: LongText
    received_at: AwareDatetime | None = Field(
        default=None, description="when the request was received (default: now)"
    )
    backdated_reason: ShortText | None = None


class EscalationDecision(Schema):
    """The escalation body's decision: upheld (for a "not met" threshold: met after all)."""

    upheld: bool
    reasons: LongText


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


class ConsideredRead(Schema):
    complaint_id: UUID
    reference: str
    receiving_agency_id: UUID
    behaviour: int
    occurred_on: date
    reported_on: date
    counted: bool
    reason: Literal[
        "counted",
        "other_behaviour",
        "after_application",
        "late_report",
        "outside_six_months",
        "same_incident",
    ]
    explanation: str
    same_incident_as: str | None
    backdated_reason: str | None
    backdated_by: str | None
    as_of: datetime | None = Field(
        default=None,
        description="the time (in intake) of the newest change to this complaint review has "
        "applied: wait for it to reach the change you made",
    )


class BehaviourRead(Schema):
    number: int
    label: str
    concerned: bool
    qualifying_incidents: int
    met: bool


class CountingRead(Schema):
    """What the application counts: per behaviour, and each complaint with its reason."""

    reference: str
    decided: bool = Field(description="true: as the decision counted it; false: as of now")
    decided_by: str | None
    applied_on: date
    threshold: int
    met: bool
    qualifying_incidents: int
    behaviours: list[BehaviourRead]
    complaints: list[ConsideredRead]
    intake_as_of: datetime | None = Field(
        description="the newest intake change review has applied to these complaints"
    )


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
    ombudsman: str


class AccessCodeIssued(ReadSchema):
    """A new access code for the applicant, shown this once; the old one no longer works."""

    reference: str
    access_code: str
    issued_at: datetime
    letter_id: UUID = Field(description="the letter telling the applicant (the code masked)")


class ApplicantDeadline(ReadSchema):
    stage: str
    explained: str
    due_on: date
    working_days_left: int = Field(description="working days from today to the due date")


class ApplicantDecision(ReadSchema):
    threshold_met: bool
    decided_on: date
    reasons: str = Field(description="in plain English; about no one but the applicant")


class ApplicantView(ReadSchema):
    """What the applicant may see of their own review: nothing about anyone else."""

    reference: str
    stage: str
    stage_explained: str
    applied_on: date
    next_deadline: ApplicantDeadline | None
    decision: ApplicantDecision | None
    outcome: str | None
    recommendations: list[str] | None
    spoc: SpocContact
    escalation_body: str
    ombudsman: str
