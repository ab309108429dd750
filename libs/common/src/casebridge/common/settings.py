"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IssuerConfig(BaseModel):
    """A trusted token issuer: the built-in one, or an agency's own identity provider."""

    issuer: str
    jwks_uri: str


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
