from pydantic import Field
from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="STATS_", extra="ignore", frozen=True)

    service_name: str = "stats"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_stats"
    suppress_below: int = Field(
        default=5,
        ge=1,
        le=100,
        description="public breakdown cells from 1 to this minus one are shown as '<N'",
    )
    public_years: int = Field(default=3, ge=1, le=10, description="financial years on the page")
    public_quarters: int = Field(default=8, ge=1, le=20, description="quarters on the page")
    area_names: dict[str, str] = Field(
        default_factory=dict, description="area code -> name shown on the public page, as JSON"
    )
    apply_urls: dict[str, str] = Field(
        default_factory=dict,
        description="area code -> the page where the area explains how to apply, as JSON",
    )
