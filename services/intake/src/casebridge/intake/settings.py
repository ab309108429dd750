from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_intake"
    # Per-area YAML (`<AREA CODE>.yaml`); default: <data_dir>/areas.
    area_config_dir: Path | None = None
    # How long a process keeps an area row it read (0: read it on every call).
    area_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    # Complaints logged at the same moment share a transaction: at most this many, and this
    # many transactions at once (see casebridge.intake.recorder). One at a time makes the
    # largest batches (measured at 16 clients: 8 complaints a batch and 0.55 ms of CPU per
    # complaint, against 5 and 0.61 ms with two); raise it when the database is far away.
    recorder_max_batch: int = Field(default=64, ge=1, le=1000)
    recorder_concurrency: int = Field(default=1, ge=1, le=16)

    def area_configs_path(self) -> Path:
        return self.area_config_dir or self.data_dir / "areas"
