"""The services' NATS users for `make run` and the tests: a password per service, kept under
the server's data folder (so a second `make run` reconnects), their bcrypt hashes in the
JSON file the sharing worker reads, and a first authorization file (services only) that the
sharing worker then keeps in step with the registry (casebridge.sharing.nats_auth)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from casebridge.sharing.nats_auth import SERVICES, render, service_login


@dataclass(frozen=True)
class NatsLogins:
    """Where the files are, and each service's (user, password)."""

    authorization_file: Path
    services_file: Path
    passwords: dict[str, str]

    def login(self, service: str) -> tuple[str, str]:
        return service_login(service, "").user, self.passwords[service]


def prepare_nats_logins(directory: Path, *, cost: int = 11) -> NatsLogins:
    """Passwords (made once), their hashes, and the authorization file if there is none.
    Tests pass a low bcrypt cost: nats-server checks the hash on every connect."""
    directory.mkdir(parents=True, exist_ok=True)
    secrets_file = directory / "service-passwords.json"
    if secrets_file.exists():
        passwords: dict[str, str] = json.loads(secrets_file.read_text())
    else:
        passwords = {name: secrets.token_urlsafe(24) for name in SERVICES}
        _write_private(secrets_file, json.dumps(passwords))
    hashes = {
        name: bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost, prefix=b"2a")).decode()
        for name, password in passwords.items()
    }
    services_file = directory / "service-logins.json"
    _write_private(services_file, json.dumps(hashes))
    authorization_file = directory / "authorization.conf"
    if not authorization_file.exists():
        logins = [service_login(name, hashes[name]) for name in SERVICES]
        _write_private(authorization_file, render(logins))
    return NatsLogins(authorization_file, services_file, passwords)


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)
