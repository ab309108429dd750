"""Request and response models for complaints."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from casebridge.common.schemas import Schema
from pydantic import AwareDatetime, Field, model_validator


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


Postcode = Annotated[str, Field(min_length=5, max_length=8, pattern=r"^[A-Za-z0-9 ]+$")]


class ComplaintCreate(Schema):
    channel: Channel
    nsir_category: NsirCategory
    asb_type: AsbType
    description: Annotated[str, Field(min_length=1, max_length=4000)]
    occurred_at: AwareDatetime
    reported_at: AwareDatetime | None = None
    hate_motivated: bool = False
    anonymous: bool = False
    postcode: Postcode | None = None

    model_config = Schema.model_config | {
        "json_schema_extra": {
            "examples": [
                {
                    "channel": "phone",
                    "nsir_category": "personal",
                    "asb_type": "rowdy_neighbours",
                    "description": "Loud music and shouting from next door until 3am.",
                    "occurred_at": "2026-11-20T23:30:00Z",
                    "postcode": "SW1A 1AA",
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _not_after_receipt(self) -> ComplaintCreate:
        if self.reported_at is not None and self.occurred_at > self.reported_at:
            raise ValueError("occurred_at must not be after reported_at")
        return self


class ComplaintRead(Schema):
    id: UUID
    reference: str
    area_id: UUID
    receiving_agency_id: UUID
    channel: Channel
    nsir_category: NsirCategory
    asb_type: AsbType
    hate_motivated: bool
    anonymous: bool
    description: str
    postcode: str | None
    occurred_at: datetime
    reported_at: datetime
    created_at: datetime
