"""Request and response models for complaints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from casebridge.common.schemas import Patch, ReadSchema, Schema, SharedView

from .fields import Address, Latitude, Longitude, Postcode, ShortName, Uprn
from .people import Complainant, Email, Phone
from .risk import RiskAnswers


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
    """Where it happened: a UK postcode, or coordinates, or a UPRN (at least one). The
    place of the behaviour is not taken for the complainant's address (a park, a shop, a
    neighbour's door), unless the handler says it is their home."""

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
    at_complainants_home: bool = Field(
        default=False,
        description="It happened at the complainant's home: their address and postcode, "
        "where the complainant's details give none, are the location's",
    )

    @model_validator(mode="after")
    def _somewhere(self) -> Location:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if self.postcode is None and self.latitude is None and self.uprn is None:
            raise ValueError("give a postcode, coordinates or a UPRN")
        return self


AgencyReferenceText = Annotated[
    str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9 /_.:-]+$")
]


class AgencyReferenceIn(Schema):
    agency_id: UUID
    reference: AgencyReferenceText


class AgencyReferenceAdd(Schema):
    """The caller's own reference for a complaint (its agency is the caller's)."""

    reference: AgencyReferenceText

    model_config = Schema.model_config | {
        "json_schema_extra": {"examples": [{"reference": "CAD 4417/29NOV"}]}
    }


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
    landlord_agency_id: UUID | None = Field(
        default=None,
        description="The registered housing provider (or council) that is this perpetrator's "
        "landlord: it never learns who complained without a recorded basis",
    )

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
    risk_answers: RiskAnswers | None = Field(
        default=None,
        description="Risk assessed at the call: one answer (an option id) per question of "
        "the area's question set (GET /risk/question-set). Scored with the complaint; the "
        "response gives the band and what happens next. Answers may also be given later.",
    )

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
        if self.location.at_complainants_home:
            self._home_from_location()
        return self

    def _home_from_location(self) -> None:
        """The complainant's home is the location: fill their address and postcode where
        the details give none (never over what the handler typed)."""
        details = self.complainant.details if self.complainant else None
        if details is None:
            raise ValueError(
                "location.at_complainants_home needs the complainant's details (not an "
                "anonymous report, nor a log chosen by person_id)"
            )
        if details.address is None and details.postcode is None:
            details.address = self.location.address
            details.postcode = self.location.postcode


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


class OverridePurpose(StrEnum):
    asb_case_management = "asb_case_management"
    injunction_application = "injunction_application"
    asb_case_review_s104 = "asb_case_review_s104"


class SharingOverride(Schema):
    """Share without (or against) the victim's consent for one purpose, recorded with its
    justification (e.g. risk of harm) and who approved it. What then flows, and to whom,
    is the information-sharing protocol's rules `when: override` for that purpose."""

    justification: Annotated[str, Field(min_length=10, max_length=500)]
    purpose: OverridePurpose = OverridePurpose.asb_case_management
    approved_by: Annotated[str, Field(min_length=3, max_length=200)] = Field(
        description="who approved the override (name and role)"
    )


class IncidentLink(Schema):
    """The other complaint whose incident this one joins."""

    complaint_id: UUID


class AgencyReferenceRead(ReadSchema):
    agency_id: UUID
    reference: str
    added_at: datetime | None = None


class PerpetratorRead(ReadSchema):
    kind: PerpetratorKind
    name: str | None
    description: str | None
    address: str | None
    postcode: str | None
    person_id: UUID | None
    key: str | None
    landlord_agency_id: UUID | None = None


class WitnessRead(ReadSchema):
    name: str
    phone: str | None
    email: str | None
    statement: str | None


class ComplainantAsGiven(ReadSchema):
    """The complainant's details as the receiving agency was given them with this complaint."""

    kind: str | None = None
    name: str | None = None
    date_of_birth: date | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    postcode: str | None = None


class LocationRead(SharedView):
    address: str | None = None
    postcode: str | None = None
    postcode_district: str | None = None
    uprn: int | None = None
    latitude: float | None = None
    longitude: float | None = None


class ComplaintRead(SharedView):
    """A complaint as the caller may see it: the receiving agency sees all of it; any other
    agency only the fields the area's information-sharing protocol grants it (the others are
    absent, and those it redacts are null and named in `redacted_fields`)."""

    id: UUID | None = None
    reference: str | None = None
    area_id: UUID | None = None
    receiving_agency_id: UUID | None = None
    channel: Channel | None = None
    status: Status | None = None
    person_id: UUID | None = None
    incident_id: UUID | None = None
    match: str | None = Field(
        default=None,
        description="How the complainant's log was found: attached (already known), created, "
        "chosen, or logged (the protocol does not tell this caller whether the log was new)",
    )
    agency_references: list[AgencyReferenceRead] | None = None
    occurred_at: datetime | None = None
    reported_at: datetime | None = None
    location: LocationRead | None = None
    nsir_category: NsirCategory | None = None
    asb_type: AsbType | None = None
    hate_motivated: bool | None = None
    anonymous: bool | None = None
    usable_for_case_review: bool | None = None
    description: str | None = None
    complainant: ComplainantAsGiven | None = None
    perpetrators: list[PerpetratorRead] | None = None
    witnesses: list[WitnessRead] | None = None
    consent_status: ConsentStatus | None = None
    consent_recorded_at: datetime | None = None
    shared_by_override: bool | None = None
    recorded_at: datetime | None = Field(
        default=None, description="when intake recorded it (the server's time)"
    )
    backdated: bool | None = Field(
        default=None, description="reported_at is an earlier day than recorded_at"
    )
    backdated_reason: str | None = None
    backdated_by: str | None = None
    risk_band: str | None = Field(
        default=None, description="The band of the complaint's latest risk assessment"
    )
    risk_next_step: str | None = Field(
        default=None,
        description="What the area's procedure does next for that band (given to the "
        "handler when the answers came with the complaint)",
    )
    vulnerable: bool | None = Field(
        default=None, description="The complainant's log is flagged vulnerable"
    )
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ComplaintSummary(SharedView):
    """A row of a list: no narrative, no witnesses; fields as the protocol grants them."""

    id: UUID | None = None
    reference: str | None = None
    receiving_agency_id: UUID | None = None
    channel: Channel | None = None
    status: Status | None = None
    person_id: UUID | None = None
    incident_id: UUID | None = None
    asb_type: AsbType | None = None
    nsir_category: NsirCategory | None = None
    hate_motivated: bool | None = None
    postcode: str | None = None
    postcode_district: str | None = None
    occurred_at: datetime | None = None
    reported_at: datetime | None = None
    vulnerable: bool | None = None
