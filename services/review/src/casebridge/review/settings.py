from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REVIEW_", extra="ignore", frozen=True)

    service_name: str = "review"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_review"
    api_port: int = 8003
    deadline_check_interval_seconds: float = 60.0
    # One message per fetch: nats.py's batch fetch holds a lone message until the fetch
    # expires (up to a second), and the threshold event is due within 100 ms of intake's
    # commit. Messages are applied one at a time anyway, so only a pull request is added.
    consumer_batch_size: int = 1
    # The relay wakes on NOTIFY, but a commit notified while it is publishing the previous
    # batch is missed until the next poll (the relay clears its wake-up after the batch):
    # poll often enough that a missed wake-up stays within the 100 ms target.
    relay_poll_interval_seconds: float = 0.05
