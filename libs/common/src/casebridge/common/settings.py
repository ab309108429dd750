"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GroupGrant(BaseModel):
    """What membership of one group (or one role of the provider) makes a user: a member of
    staff of this agency, with these Casebridge roles and scopes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency_id: UUID
    roles: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        from casebridge.common.auth import ROLES  # auth imports this module

        unknown = sorted(set(roles) - ROLES.keys())
        if unknown:
            raise ValueError(f"unknown roles: {', '.join(unknown)}")
        return roles

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        from casebridge.common.auth import SCOPES

        unknown = sorted(set(scopes) - SCOPES.keys())
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(unknown)}")
        return scopes


class ClaimMapping(BaseModel):
    """How an agency's own identity provider's access tokens become Casebridge callers
    (docs/identity-providers.md): the groups (or roles) claim decides agency, roles and
    scopes; a user in no mapped group gets nothing (403)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    area_id: UUID
    claim: str = Field(
        default="groups",
        description="the claim listing the user's groups or roles; a dotted path reads a "
        "nested claim (Keycloak's realm_access.roles)",
    )
    groups: dict[str, GroupGrant] = Field(min_length=1)
    subject_claim: str = Field(default="sub", description="the user's id (Entra ID: oid)")
    client_claim: str = Field(default="azp", description="the application signed in to")
    audience: str | None = Field(
        default=None, description="the aud its tokens carry for this service, if not ours"
    )
    token_types: list[str] = Field(
        default_factory=lambda: ["at+jwt", "application/at+jwt"],
        description="accepted `typ` headers (Entra ID and Keycloak send JWT)",
    )
    require_jti: bool = Field(default=True, description="Entra ID sends uti, not jti")
    max_lifetime_seconds: int | None = Field(default=None, ge=60, le=86_400)


class IssuerConfig(BaseModel):
    """A trusted token issuer: the built-in one, or an agency's own identity provider (with
    the mapping from its tokens' claims to Casebridge agency, roles and scopes)."""

    issuer: str
    jwks_uri: str
    mapping: ClaimMapping | None = None


DEFAULT_ISSUER = "http://127.0.0.1:8002"


class BaseServiceSettings(BaseSettings):
    """Read from the environment with the service's prefix (INTAKE_, SHARING_, ...)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "casebridge"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge"
    database_pool_size: int = 10
    database_statement_timeout_ms: int = 15_000
    nats_url: str = "nats://127.0.0.1:4223"
    stream_replicas: int = Field(default=1, ge=1, le=5, description="3 in production (R3)")
    issuers: list[IssuerConfig] = Field(
        default_factory=lambda: [
            IssuerConfig(issuer=DEFAULT_ISSUER, jwks_uri=f"{DEFAULT_ISSUER}/.well-known/jwks.json")
        ]
    )
    audience: str = ""
    token_leeway_seconds: int = Field(default=30, ge=0, le=60)
    # A token may be valid for at most this long (exp - iat): a leaked long-lived token
    # signed with a real key must not work for years (issue 8, AUTH-R1).
    token_max_lifetime_seconds: int = Field(default=3600, ge=60, le=86400)
    jwks_refresh_cooldown_seconds: float = 30.0
    jwks_max_age_seconds: float = 300.0
    # FastAPI's own OpenTelemetry spans and metrics (exported when an OpenTelemetry SDK is
    # configured, e.g. FASTAPI_OTEL_AUTO_CONFIGURE=true). Off by default: /metrics and the
    # JSON logs are the services' observability, and the check costs every request.
    opentelemetry: bool = False
    token_remember_seconds: float = Field(
        default=60.0, ge=0, description="how long a verified token is not verified again"
    )
    protocol_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="how long a process keeps an area's protocol version and an agency's "
        "registry entry before reading them again",
    )
    revocation_refresh_seconds: float = Field(
        default=5.0, ge=0, le=300, description="how often revoked clients are read again"
    )
    # Access records (who read which record): buffered, one INSERT per flush. A crash loses
    # at most the last interval's; a full buffer refuses reads (503) rather than serve them
    # untraced. 0 seconds: flush only when asked and at shutdown (a rolled-back test).
    access_flush_seconds: float = Field(default=0.5, ge=0, le=10)
    access_flush_rows: int = Field(default=500, ge=1)
    access_buffer_rows: int = Field(default=20_000, ge=1)
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = 256 * 1024
    relay_batch_size: int = 200
    relay_poll_interval_seconds: float = 1.0
    relay_lease_seconds: float = 30.0
    consumer_batch_size: int = 64
    consumer_max_deliver: int = 10
    consumer_ack_wait_seconds: float = 30.0
    expose_docs: bool = True

    def audience_or_default(self) -> str:
        return self.audience or f"urn:casebridge:{self.service_name}"
