"""Request and response models of the partner registry's administration: areas, agencies,
their OAuth clients, webhook endpoints and NATS users. Secrets appear in a response once,
when they are made."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StrictBool, field_validator, model_validator

from casebridge.common.auth import ROLES, SCOPES
from casebridge.common.isp.catalogue import AGENCY_KINDS
from casebridge.common.schemas import ReadSchema, Schema, ShortText

AreaCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z][A-Z0-9]{1,5}$",
        description="2 to 6 capitals or digits; begins every reference of the area",
        examples=["DMO"],
    ),
]
OrganisationCode = Annotated[
    str, Field(pattern=r"^[A-Z0-9]{2,20}$", description="capitals and digits", examples=["RYJ"])
]
Description = Annotated[str, Field(max_length=500)]
Username = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{2,63}$",
        description="3 to 64 of a-z, 0-9, _ and -",
        examples=["demo-police-rms"],
    ),
]


class _Partial(Schema):
    """A change: at least one field, and none set to null."""

    @model_validator(mode="before")
    @classmethod
    def _something_and_no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if not data:
                raise ValueError("nothing to change")
            nulls = sorted(k for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(f"{', '.join(nulls)} cannot be null; leave it out to keep it")
        return data


# ---- areas and agencies -----------------------------------------------------------------
class AgencyCreate(Schema):
    name: ShortText
    kind: str = Field(json_schema_extra={"enum": list(AGENCY_KINDS)}, examples=["housing"])
    core_partner: StrictBool = False
    ods_code: OrganisationCode | None = Field(
        default=None, description="NHS Organisation Data Service code"
    )
    police_force_code: OrganisationCode | None = Field(
        default=None, description="the force's code (police agencies only)"
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in AGENCY_KINDS:
            raise ValueError(f"must be one of {', '.join(AGENCY_KINDS)}")
        return kind

    @model_validator(mode="after")
    def _force_code_for_police(self) -> AgencyCreate:
        if self.police_force_code is not None and self.kind != "police":
            raise ValueError("police_force_code is for police agencies")
        return self


class AgencyUpdate(_Partial):
    name: ShortText | None = None
    core_partner: StrictBool | None = None
    active: StrictBool | None = None


class AreaCreate(Schema):
    code: AreaCode
    name: ShortText
    founding_agency: AgencyCreate = Field(
        description="the area's first agency; its first client administers the new area"
    )


class AreaRead(ReadSchema):
    id: UUID
    code: str
    name: str
    registered_at: datetime


class AgencyRead(ReadSchema):
    id: UUID
    area_id: UUID
    name: str
    kind: str
    core_partner: bool
    active: bool
    ods_code: str | None
    police_force_code: str | None
    revision: int
    updated_at: datetime


# ---- OAuth clients ----------------------------------------------------------------------
class ClientCreate(Schema):
    scopes: list[str] = Field(
        min_length=1,
        max_length=len(SCOPES),
        json_schema_extra={"items": {"enum": list(SCOPES)}},
        examples=[["complaints:read", "shares:read"]],
    )
    roles: list[str] = Field(
        default_factory=list,
        max_length=len(ROLES),
        json_schema_extra={"items": {"enum": list(ROLES)}},
    )

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        unknown = sorted(set(scopes) - SCOPES.keys())
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(unknown)}")
        return sorted(set(scopes))

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = sorted(set(roles) - ROLES.keys())
        if unknown:
            raise ValueError(f"unknown roles: {', '.join(unknown)}")
        return sorted(set(roles))


class ClientRead(ReadSchema):
    client_id: str
    agency_id: UUID
    scopes: list[str]
    roles: list[str]
    active: bool
    created_at: datetime
    secret_rotated_at: datetime | None
    revoked_at: datetime | None


class ClientSecret(ReadSchema):
    """Shown once: Casebridge keeps only a hash of the secret."""

    client_id: str
    client_secret: str
    agency_id: UUID
    scopes: list[str]
    roles: list[str]


class FoundedArea(ReadSchema):
    area: AreaRead
    agency: AgencyRead
    client: ClientSecret


# ---- webhook endpoints and NATS users (the delivery channels use them) -------------------
class WebhookCreate(Schema):
    url: str = Field(
        max_length=2000,
        description="https, on a public address (not loopback, link-local or private)",
        examples=["https://hooks.example.org/casebridge"],
    )
    description: Description = ""
    active: StrictBool = True


class WebhookUpdate(_Partial):
    url: str | None = Field(default=None, max_length=2000)
    description: Description | None = None
    active: StrictBool | None = None


class WebhookRead(ReadSchema):
    id: UUID
    agency_id: UUID
    url: str
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    signing_secret: str = Field(description="shown once: verifies the webhook-signature header")


class NatsUserCreate(Schema):
    username: Username


class NatsUserRead(ReadSchema):
    id: UUID
    agency_id: UUID
    username: str
    active: bool
    created_at: datetime
    revoked_at: datetime | None


class NatsUserCreated(NatsUserRead):
    password: str = Field(description="shown once: Casebridge keeps only its bcrypt hash")
