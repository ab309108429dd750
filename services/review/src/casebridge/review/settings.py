from pydantic import Field
from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REVIEW_", extra="ignore", frozen=True)

    service_name: str = "review"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_review"
    api_port: int = 8003
    deadline_check_interval_seconds: float = 60.0
    # The applicant's view: failed tries within the window, per reference and per source
    # address, before further tries get 429 until the window ends.
    applicant_tries_per_reference: int = Field(default=5, ge=1, le=100)
    applicant_tries_per_source: int = Field(default=20, ge=1, le=1000)
    applicant_window_seconds: float = Field(default=900, ge=1, le=86_400)
