from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REVIEW_", extra="ignore", frozen=True)

    service_name: str = "review"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_review"
    api_port: int = 8003
    deadline_check_interval_seconds: float = 60.0
