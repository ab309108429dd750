from casebridge.common.settings import BaseServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_intake"
