from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from casebridge.common.settings import DEFAULT_ISSUER, BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHARING_", extra="ignore", frozen=True)

    service_name: str = "sharing"
    # The API and the worker should connect as the application role (`app_role`), which
    # may not change or remove disclosures or the protocol and invitation history (LEG-R3);
    # migrations run as the tables' owner (`migration_database_url`, else `database_url`).
    # `make run` and the tests do so; deploy/README.md says how in production.
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_sharing"
    migration_database_url: str | None = None
    app_role: str = Field(default="casebridge_sharing_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    issuer_url: str = DEFAULT_ISSUER
    signing_key_file: Path = Path("var/keys/signing-key.json")
    # Short-lived tokens: a leaked one is useful for minutes, not days (AUTH-R1).
    token_lifetime_seconds: int = Field(default=600, ge=60, le=900)
    # The token endpoint's lockout, per (client id, source address): from the threshold-th
    # failed secret on, the source waits base * 2^(failures - threshold) seconds, at most
    # the cap; a count with no failure for the window starts again.
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_base_seconds: int = Field(default=30, ge=1)
    lockout_max_seconds: int = Field(default=3600, ge=1)
    lockout_window_seconds: int = Field(default=3600, ge=1)
    # Behind a reverse proxy: the header it writes the caller's address into (e.g.
    # X-Forwarded-For, whose last address is used). Empty: the connection's peer. Set it
    # only when every request comes through that proxy, or callers choose their address.
    trusted_proxy_header: str = ""
    # Webhook endpoints must be https on a public address; tests and `make run` may allow
    # a receiver on loopback (http or https) with this.
    webhook_allow_loopback: bool = False
    # The allow-list of webhook hosts (a JSON list: "hooks.police.example" or ".nhs.uk" for
    # any host under it), checked at registration and at every attempt. Empty: any public
    # host an administrator registers.
    webhook_allowed_hosts: list[str] = []
    # The webhook dispatcher (in the worker): attempt k failing waits
    # min(base * 2^(k-1), max) seconds; the max_attempts-th failure dead-letters the message
    # (the partner sees it and may re-drive it). Each POST times out; redirects are failures.
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_base_seconds: float = Field(default=5.0, ge=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # A claimed message is another dispatcher's after this (longer than a POST may take).
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_batch_size: int = Field(default=32, ge=1, le=500)
    # Idle, the dispatcher sleeps until a delivery's NOTIFY or this many seconds (retries
    # falling due, a partner's re-drive).
    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0)
    # NATS locked per agency (nats_auth.py): when set, the worker keeps this nats-server
    # authorization file in step with the registry (the services' users from the JSON file
    # `{service: bcrypt hash}`) and sends SIGHUP to the pid in the pid file on a change.
    nats_authorization_file: Path | None = None
    nats_service_logins_file: Path | None = None
    nats_server_pid_file: Path | None = None
    nats_authorization_interval_seconds: float = Field(default=2.0, gt=0)

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer_url.rstrip('/')}/oauth/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer_url.rstrip('/')}/.well-known/jwks.json"

    @property
    def owner_database_url(self) -> str:
        return self.migration_database_url or self.database_url
