"""Request and response models for complaints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from casebridge.common.schemas import Patch, ReadSchema, Schema

from .fields import Address, Latitude, Longitude, Postcode, ShortName, Uprn
from .people import Complainant, Email, Phone


class Channel(StrEnum):
    phone = "phone"
    online = "online"
    email = "email"
    in_person = "in_person"
    letter = "letter"
    open311 = "open311"


class NsirCategory(StrEnum):
    personal = "personal"
    nuisance = "nuisance"
    environmental = "environmental"


class AsbType(StrEnum):
    """The Metropolitan Police's 13 headings, plus other."""

    vehicle_abandoned = "vehicle_abandoned"
    vehicle_nuisance = "vehicle_nuisance"
    rowdy_behaviour = "rowdy_behaviour"
    rowdy_neighbours = "rowdy_neighbours"
    littering_drugs = "littering_drugs"
    animal_problems = "animal_problems"
    trespass = "trespass"
    nuisance_communications = "nuisance_communications"
    street_drinking = "street_drinking"
    prostitution = "prostitution"
    noise = "noise"
    begging = "begging"
    fireworks = "fireworks"
    other = "other"


class ConsentStatus(StrEnum):
    not_asked = "not_asked"
    given = "given"
    refused = "refused"
    withdrawn = "withdrawn"


class PerpetratorKind(StrEnum):
    unknown = "unknown"
    person = "person"
    household = "household"
    group = "group"


class Status(StrEnum):
    open = "open"
    closed = "closed"


Description = Annotated[str, Field(min_length=1, max_length=4000)]


def _present(*names: str) -> dict[str, Any]:
    """JSON Schema: these properties are given, and not null."""
    return {"required": list(names), "properties": {n: {"not": {"type": "null"}} for n in names}}


class Location(Schema):
    """Where it happened: a UK postcode, or coordinates, or a UPRN (at least one)."""

    model_config = Schema.model_config | {
        "json_schema_extra": {
            "anyOf": [_present("postcode"), _present("latitude", "longitude"), _present("uprn")],
            "allOf": [
                {"if": _present("latitude"), "then": _present("longitude")},
                {"if": _present("longitude"), "then": _present("latitude")},
            ],
        }
    }

    address: Address | None = None
    postcode: Postcode | None = None
    uprn: Uprn | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> Location:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if self.postcode is None and self.latitude is None and self.uprn is None:
            raise ValueError("give a postcode, coordinates or a UPRN")
        return self


class AgencyReferenceIn(Schema):
    agency_id: UUID
    reference: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9 /_.:-]+$")]


class PerpetratorIn(Schema):
    model_config = Schema.model_config | {
        "json_schema_extra": {  # an unknown perpetrator has no name or person_id
            "if": {"required": ["kind"], "properties": {"kind": {"const": "unknown"}}},
            "then": {"properties": {"name": {"type": "null"}, "person_id": {"type": "null"}}},
        }
    }

    kind: PerpetratorKind
    name: ShortName | None = None
    description: Annotated[str, Field(max_length=1000)] | None = None
    address: Address | None = None
    postcode: Postcode | None = None
    person_id: UUID | None = None

    @model_validator(mode="after")
    def _named(self) -> PerpetratorIn:
        if self.kind == PerpetratorKind.unknown and (self.name or self.person_id):
            raise ValueError("an unknown perpetrator has no name or person_id")
        return self


class WitnessIn(Schema):
    name: ShortName
    phone: Phone | None = None
    email: Email | None = None
    statement: Annotated[str, Field(max_length=2000)] | None = None


def _not_in_the_future(value: datetime | None) -> datetime | None:
    # Clocks differ a little between a handler's PC and ours: allow five minutes.
    if value is not None and value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("must not be in the future")
    return value


CLOCK_SKEW = timedelta(minutes=5)
RecordedAt = Annotated[
    AwareDatetime | None,
    AfterValidator(_not_in_the_future),
    Field(description="When the victim said so (not in the future); default: now"),
]


class Consent(Schema):
    status: ConsentStatus
    recorded_at: RecordedAt = None


class ComplaintCreate(Schema):
    channel: Channel
    complainant: Complainant | None = None
    anonymous: bool = False
    agency_references: Annotated[list[AgencyReferenceIn], Field(max_length=5)] = []
    occurred_at: AwareDatetime
    reported_at: AwareDatetime | None = Field(
        default=None,
        description="when the complaint was made to the agency (default: now). An earlier day "
        "than today needs backdated_reason and may be at most the area's backdating.max_days "
        "back (default 14); never in the future, never before occurred_at",
    )
    backdated_reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    location: Location
    nsir_category: NsirCategory
    asb_type: AsbType
    hate_motivated: bool = False
    description: Description
    perpetrators: Annotated[list[PerpetratorIn], Field(max_length=20)] = []
    witnesses: Annotated[list[WitnessIn], Field(max_length=20)] = []
    consent: Consent = Consent(status=ConsentStatus.not_asked)

    model_config = Schema.model_config | {
        "json_schema_extra": {
            # A complainant, unless the complaint is anonymous (then none).
            "if": {"required": ["anonymous"], "properties": {"anonymous": {"const": True}}},
            "then": {"not": {"required": ["complainant"]}},
            "else": _present("complainant"),
            "examples": [
                {
                    "channel": "phone",
                    "complainant": {"details": {"name": "Ann Example", "phone": "020 7946 0018"}},
                    "agency_references": [],
                    "occurred_at": "2026-11-20T23:30:00Z",
                    "location": {"address": "1 Example Street", "postcode": "SW1A 1AA"},
                    "nsir_category": "personal",
                    "asb_type": "rowdy_neighbours",
                    "description": "Loud music and shouting from next door until 3am.",
                    "perpetrators": [{"kind": "household", "address": "3 Example Street"}],
                    "consent": {"status": "given"},
                }
            ],
        }
    }

    @model_validator(mode="after")
    def _coherent(self) -> ComplaintCreate:
        if self.reported_at is not None and self.occurred_at > self.reported_at:
            raise ValueError("occurred_at must not be after reported_at")
        latest = datetime.now(UTC) + CLOCK_SKEW
        if self.occurred_at > latest:
            raise ValueError("occurred_at must not be in the future")
        if self.reported_at is not None and self.reported_at > latest:
            raise ValueError("reported_at must not be in the future")
        if self.complainant is None and not self.anonymous:
            raise ValueError("a complainant is required unless the complaint is anonymous")
        if self.anonymous and self.complainant is not None:
            raise ValueError("an anonymous complaint has no complainant")
        return self


class ComplaintUpdate(Patch):
    """The fields a handler may correct; everything else is fixed at logging. A field left
    out keeps its value; none can be cleared (null is a 422)."""

    status: Status | None = None
    nsir_category: NsirCategory | None = None
    asb_type: AsbType | None = None
    hate_motivated: bool | None = None
    description: Description | None = None


class ConsentChange(Schema):
    status: ConsentStatus
    recorded_at: RecordedAt = None


class SharingOverride(Schema):
    """Share with the area's partners without consent, for risk of harm (recorded)."""

    justification: Annotated[str, Field(min_length=10, max_length=500)]


class IncidentLink(Schema):
    """The other complaint whose incident this one joins."""

    complaint_id: UUID


class AgencyReferenceRead(ReadSchema):
    agency_id: UUID
    reference: str


class PerpetratorRead(ReadSchema):
    kind: PerpetratorKind
    name: str | None
    description: str | None
    address: str | None
    postcode: str | None
    person_id: UUID | None
    key: str | None


class WitnessRead(ReadSchema):
    name: str
    phone: str | None
    email: str | None
    statement: str | None


class LocationRead(ReadSchema):
    address: str | None
    postcode: str | None
    uprn: int | None
    latitude: float | None
    longitude: float | None


class ComplaintRead(ReadSchema):
    id: UUID
    reference: str
    area_id: UUID
    receiving_agency_id: UUID
    channel: Channel
    status: Status
    person_id: UUID | None
    incident_id: UUID
    match: str | None = Field(
        default=None, description="How the complainant was found: attached, created, chosen"
    )
    agency_references: list[AgencyReferenceRead]
    occurred_at: datetime
    reported_at: datetime
    location: LocationRead
    nsir_category: NsirCategory
    asb_type: AsbType
    hate_motivated: bool
    anonymous: bool
    usable_for_case_review: bool
    description: str
    perpetrators: list[PerpetratorRead]
    witnesses: list[WitnessRead]
    consent_status: ConsentStatus
    consent_recorded_at: datetime | None
    shared_by_override: bool
    recorded_at: datetime = Field(description="when intake recorded it (the server's time)")
    backdated: bool = Field(description="reported_at is an earlier day than recorded_at")
    backdated_reason: str | None
    backdated_by: str | None
    created_at: datetime
    updated_at: datetime


class ComplaintSummary(ReadSchema):
    """A row of a list: no narrative, no witnesses."""

    id: UUID
    reference: str
    receiving_agency_id: UUID
    channel: Channel
    status: Status
    person_id: UUID | None
    incident_id: UUID
    asb_type: AsbType
    nsir_category: NsirCategory
    hate_motivated: bool
    postcode: str | None
    occurred_at: datetime
    reported_at: datetime
