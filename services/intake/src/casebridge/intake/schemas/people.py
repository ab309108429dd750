"""People (complainants) and their complaint logs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, model_validator

from casebridge.common.schemas import ReadSchema, Schema, SharedView
from casebridge.intake import normalise

from .fields import Address, Postcode, ShortName


class PersonKind(StrEnum):
    individual = "individual"
    business = "business"
    community_group = "community_group"


Phone = Annotated[str, Field(min_length=3, max_length=40), AfterValidator(normalise.phone)]
Email = Annotated[
    str,
    Field(min_length=3, max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(normalise.email),
]


class PersonDetails(Schema):
    """Who is complaining; matched against existing logs before a new one is made."""

    model_config = Schema.model_config | {
        "json_schema_extra": {  # a date of birth is an individual's only
            "if": {"required": ["kind"], "properties": {"kind": {"not": {"const": "individual"}}}},
            "then": {"properties": {"date_of_birth": {"type": "null"}}},
        }
    }

    kind: PersonKind = PersonKind.individual
    name: ShortName
    date_of_birth: date | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    postcode: Postcode | None = None

    @model_validator(mode="after")
    def _sane_birth_date(self) -> PersonDetails:
        if self.date_of_birth is not None and not (
            date(1900, 1, 1) <= self.date_of_birth <= date.today()
        ):
            raise ValueError("date_of_birth must be between 1900-01-01 and today")
        if self.kind != PersonKind.individual and self.date_of_birth is not None:
            raise ValueError("date_of_birth applies to individuals only")
        return self


def _one_of(given: str, other: str) -> dict[str, Any]:
    return {
        "required": [given],
        "properties": {given: {"not": {"type": "null"}}, other: {"type": "null"}},
    }


class Complainant(Schema):
    """Either an existing log (`person_id`) or details to match; `match` says what to do
    when the match is uncertain: `ask` (409 with candidates) or `new` (create a new log)."""

    model_config = Schema.model_config | {
        "json_schema_extra": {
            "anyOf": [_one_of("person_id", "details"), _one_of("details", "person_id")]
        }
    }

    person_id: UUID | None = None
    details: PersonDetails | None = None
    match: Literal["ask", "new"] = "ask"

    @model_validator(mode="after")
    def _one_of(self) -> Complainant:
        if (self.person_id is None) == (self.details is None):
            raise ValueError("give exactly one of person_id or details")
        return self


class PersonRead(SharedView):
    """A complaint log as the caller may see it: what the information-sharing protocol grants
    it, and the details it supplied itself (`supplied_fields`); nothing else."""

    id: UUID | None = None
    kind: PersonKind | None = None
    name: str | None = None
    date_of_birth: date | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    postcode: str | None = None
    repeat_victim: bool | None = None
    repeat_victim_at: datetime | None = None
    vulnerable: bool | None = None
    vulnerability_reasons: list[str] | None = None
    created_at: datetime | None = None
    supplied_fields: list[str] | None = Field(
        default=None, description="fields shown because the caller's agency supplied them"
    )


class MatchReason(StrEnum):
    phone = "same phone number"
    email = "same e-mail address"
    name_dob = "same name and date of birth"
    name_postcode = "same name and postcode"
    variant_dob = "similar name and same date of birth"
    variant_postcode = "similar name and same postcode"
    dob_differs = "different date of birth"
    name_differs = "different name"


class MatchCandidate(Schema):
    """A log the complainant may be: its id, how it matched what the caller gave, and its
    name and postcode only where the caller may see them."""

    person_id: UUID
    name: str | None = None
    postcode: str | None = None
    score: int
    reasons: list[str]


class MatchCandidatesDetail(Schema):
    message: str
    candidates: list[MatchCandidate]


class MatchUncertainBody(Schema):
    """409 body when the complainant may be one of several existing logs: nothing was
    recorded; resend with `complainant.person_id` (one of the candidates) or `match: new`."""

    error: Literal["person_match_uncertain"]
    detail: MatchCandidatesDetail


class VulnerabilityChange(Schema):
    """An officer flags a log vulnerable (or clears the flag), with the reason."""

    vulnerable: bool
    reason: Annotated[str, Field(min_length=3, max_length=200)]

    model_config = Schema.model_config | {
        "json_schema_extra": {
            "examples": [
                {"vulnerable": True, "reason": "lives alone; early-stage dementia (GP letter)"}
            ]
        }
    }


class VulnerabilityRead(ReadSchema):
    """One flag or clearing as recorded (the caller's own record of it)."""

    id: UUID
    person_id: UUID
    vulnerable: bool
    reasons: list[str]
    origin: str = Field(validation_alias="source")
    recorded_at: datetime


class PersonMergeCreate(Schema):
    duplicate_id: UUID
    reason: Annotated[str, Field(min_length=3, max_length=500)]


class PersonMergeRead(ReadSchema):
    id: UUID
    survivor_id: UUID
    merged_id: UUID
    reason: str
    complaint_ids: list[str]
    merged_at: datetime
