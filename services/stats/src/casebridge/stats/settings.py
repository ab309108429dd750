from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="STATS_", extra="ignore", frozen=True)

    service_name: str = "stats"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_stats"
