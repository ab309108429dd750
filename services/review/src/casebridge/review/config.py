"""An area's case review procedure as data: thresholds, timescales, panel, escalation.

Written by the area as YAML, validated here with field-level reasons, stored per area with a
version. Where a fact varies by area it is configuration; the statutory ceiling (a threshold
of at most three qualifying complaints, s104(7)) is the one rule an area cannot loosen.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

STATUTORY_MAX_THRESHOLD = 3


LETTER_KINDS = (
    "acknowledgement",
    "threshold_decision",
    "outcome",
    "escalation_received",
    "escalation_decision",
    "closure",
    "access_code",
)
# The events a stage's clock may start from, in the order they happen.
START_EVENTS = ("receipt", "acknowledgement", "threshold_decision", "meeting")
StartEvent = Literal[
    "receipt", "acknowledgement", "threshold_decision", "meeting", "escalation_request"
]
# Each stage's clock starts, unless the area says otherwise, at the event that opens it.
DEFAULT_STARTS: dict[str, StartEvent] = {
    "acknowledge": "receipt",
    "threshold_decision": "receipt",
    "meeting": "threshold_decision",
    "outcome": "meeting",
    "escalation_decision": "escalation_request",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatutoryRule(_Strict):
    threshold: int = Field(
        default=3,
        ge=1,
        le=STATUTORY_MAX_THRESHOLD,
        description="qualifying complaints that meet the threshold (the law allows at most 3)",
    )
    window_months: int = Field(default=6, ge=1, le=6)
    qualifying_months: int = Field(default=1, ge=1, le=1)


class SameBehaviour(_Strict):
    """How complaints are judged to be about the same behaviour."""

    same_incident_counts_once: bool = True
    same_type_and_place: bool = True
    same_perpetrator: bool = True


class CommunityThreshold(_Strict):
    complaints: int = Field(ge=1, le=100)
    complainants: int = Field(ge=1, le=100)
    window_months: int = Field(default=6, ge=1, le=12)

    @model_validator(mode="after")
    def _complainants_fit(self) -> CommunityThreshold:
        if self.complainants > self.complaints:
            raise ValueError("complainants cannot exceed complaints")
        return self


class HateThreshold(_Strict):
    incidents: int = Field(default=1, ge=1, le=STATUTORY_MAX_THRESHOLD)


class LocalThresholds(_Strict):
    community: CommunityThreshold | None = None
    hate: HateThreshold | None = None


class DayUnit(StrEnum):
    working = "working"
    calendar = "calendar"


class Timescale(_Strict):
    days: int = Field(ge=1, le=365)
    unit: DayUnit = DayUnit.working
    starts: StartEvent | None = Field(
        default=None,
        description="the event the clock starts from (default: the one that opens the stage)",
    )


class Timescales(_Strict):
    """Each stage's limit, counted from the event that starts it (DEFAULT_STARTS, or the
    area's own `starts`: Staffordshire counts its 28-day conclusion from receipt)."""

    acknowledge: Timescale = Timescale(days=2)
    threshold_decision: Timescale = Timescale(days=10)
    meeting: Timescale = Timescale(days=10)
    outcome: Timescale = Timescale(days=30)
    escalation_decision: Timescale = Timescale(days=20)

    @model_validator(mode="after")
    def _starts_before_the_stage(self) -> Timescales:
        for stage, default in DEFAULT_STARTS.items():
            starts = getattr(self, stage).starts
            if starts is None or starts == default:
                continue
            if (
                starts not in START_EVENTS
                or default not in START_EVENTS
                or START_EVENTS.index(starts) > START_EVENTS.index(default)
            ):
                raise ValueError(
                    f"{stage} cannot start from {starts}: its clock starts at or before {default}"
                )
        return self


class Subdivision(StrEnum):
    ENG = "ENG"
    WLS = "WLS"


class Calendar(_Strict):
    subdivision: Subdivision = Subdivision.ENG
    timezone: str = Field(default="Europe/London", pattern=r"^Europe/London$")


class PanelMember(_Strict):
    agency_id: UUID
    name: Annotated[str, Field(min_length=1, max_length=200)]
    core: bool = True


class MajorityRule(_Strict):
    required: int = Field(default=2, ge=1, le=20)
    of: int = Field(default=3, ge=1, le=20)
    quorum: int | None = Field(
        default=None,
        ge=1,
        le=20,
        description="fewest votes cast for the panel to decide (default: 2, or 1 for a panel "
        "of one); with fewer, because partners abstained, the SPOC decides",
    )

    @model_validator(mode="after")
    def _is_a_majority(self) -> MajorityRule:
        if self.required > self.of:
            raise ValueError("required votes cannot exceed the number of core partners")
        if self.required * 2 <= self.of:
            raise ValueError("required votes must be a majority of the core partners")
        if self.quorum is not None and self.quorum > self.of:
            raise ValueError("the quorum cannot exceed the number of core partners")
        return self

    @property
    def minimum_votes(self) -> int:
        return self.quorum if self.quorum is not None else min(2, self.of)


class Panel(_Strict):
    members: list[PanelMember] = Field(default_factory=list, max_length=20)
    majority: MajorityRule = MajorityRule()
    independent_chair: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _core_matches_rule(self) -> Panel:
        core = [m for m in self.members if m.core]
        if self.members and len(core) != self.majority.of:
            raise ValueError(
                f"majority rule counts {self.majority.of} core partners "
                f"but the panel lists {len(core)}"
            )
        agencies = [m.agency_id for m in self.members]
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency may sit on the panel only once")
        return self


class Contact(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40)
    agency_id: UUID | None = None


class EscalationKind(StrEnum):
    csp_chair = "csp_chair"
    pcc = "pcc"
    independent_chair = "independent_chair"


class Escalation(_Strict):
    """Who looks again when the applicant is dissatisfied, and how long they may take."""

    body: Annotated[str, Field(min_length=1, max_length=200)] = "Chair of the CSP"
    kind: EscalationKind = EscalationKind.csp_chair
    contact: str | None = Field(default=None, max_length=200)
    request_within: Timescale = Field(
        default=Timescale(days=20),
        description="how long after the decision (or outcome) letter the applicant may ask",
    )


class Ombudsman(_Strict):
    """Named in the closing letter: where the applicant goes when the local route is done."""

    name: Annotated[str, Field(min_length=1, max_length=200)] = (
        "Local Government and Social Care Ombudsman"
    )
    contact: str | None = Field(default="www.lgo.org.uk", max_length=200)


class Backdating(_Strict):
    """A receipt date earlier than the day it is recorded: at most this many days, with a
    reason (older history is imported, not typed in)."""

    max_days: int = Field(default=14, ge=0, le=90)


class AreaRules(_Strict):
    """One area's case review procedure."""

    code: str = Field(default="CSP", pattern=r"^[A-Z]{2,6}$")
    name: str = Field(default="Community Safety Partnership", min_length=1, max_length=200)
    statutory: StatutoryRule = StatutoryRule()
    same_behaviour: SameBehaviour = SameBehaviour()
    local_thresholds: LocalThresholds = LocalThresholds()
    auto_start_review: bool = False
    second_report_prompt: bool = True
    timescales: Timescales = Timescales()
    calendar: Calendar = Calendar()
    panel: Panel = Panel()
    spoc: Contact = Contact(name="Case review SPOC")
    escalation: Escalation = Escalation()
    ombudsman: Ombudsman = Ombudsman()
    backdating: Backdating = Backdating()
    letters: dict[str, Annotated[str, Field(max_length=20_000)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_letters(self) -> AreaRules:
        unknown = set(self.letters) - set(LETTER_KINDS)
        if unknown:
            raise ValueError(f"unknown letter templates: {', '.join(sorted(unknown))}")
        return self


DEFAULT_RULES = AreaRules()


class ConfigInvalid(ValueError):
    """The YAML could not be read or broke a rule; `reasons` lists each field's reason."""

    def __init__(self, reasons: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{r['field']}: {r['reason']}" for r in reasons))
        self.reasons = reasons


def parse_rules(document: str) -> AreaRules:
    """Read and validate an area's YAML; every problem is reported with its field path."""
    try:
        raw: Any = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        raise ConfigInvalid([{"field": "document", "reason": f"not valid YAML: {exc}"}]) from exc
    if not isinstance(raw, dict):
        raise ConfigInvalid([{"field": "document", "reason": "must be a YAML mapping"}])
    try:
        rules = AreaRules.model_validate(raw)
    except ValidationError as exc:
        raise ConfigInvalid(
            [
                {
                    "field": ".".join(str(p) for p in err["loc"]) or "document",
                    "reason": err["msg"],
                }
                for err in exc.errors()
            ]
        ) from exc
    missing = unworkable(rules)
    if missing:
        raise ConfigInvalid(missing)
    return rules


def unworkable(rules: AreaRules) -> list[dict[str, str]]:
    """What a published procedure must name for a case review to be carried out at all:
    the SPOC's agency (applications go to it; only it takes the SPOC's steps) and the panel
    (it decides the threshold and makes the recommendations). The defaults of an area that
    never published one name neither; publishing them would leave no one able to act."""
    reasons = []
    if rules.spoc.agency_id is None:
        reasons.append(
            {
                "field": "spoc.agency_id",
                "reason": "the SPOC's agency is required: it receives applications and takes "
                "the SPOC's steps",
            }
        )
    if not rules.panel.members:
        reasons.append(
            {
                "field": "panel.members",
                "reason": "the panel needs its members: it decides thresholds and makes "
                "recommendations",
            }
        )
    return reasons
