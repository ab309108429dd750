from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import DEFAULT_ISSUER, BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHARING_", extra="ignore", frozen=True)

    service_name: str = "sharing"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_sharing"
    issuer_url: str = DEFAULT_ISSUER
    signing_key_file: Path = Path("var/keys/signing-key.json")
    # Short-lived tokens: a leaked one is useful for minutes, not days (AUTH-R1).
    token_lifetime_seconds: int = Field(default=600, ge=60, le=900)
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_window_seconds: int = Field(default=300, ge=1)
    lockout_seconds: int = Field(default=300, ge=1)

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer_url.rstrip('/')}/oauth/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer_url.rstrip('/')}/.well-known/jwks.json"
