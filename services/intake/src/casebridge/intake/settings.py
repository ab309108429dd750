from pathlib import Path

from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_intake"
    # Per-area YAML (`<AREA CODE>.yaml`); default: <data_dir>/areas.
    area_config_dir: Path | None = None

    def area_configs_path(self) -> Path:
        return self.area_config_dir or self.data_dir / "areas"
