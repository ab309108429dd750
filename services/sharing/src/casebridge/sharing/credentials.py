"""Client secrets: random, shown once, stored only as an argon2 hash."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified when the client id is unknown, so a miss costs as long as a wrong secret.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(32))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return str(_hasher.hash(secret))


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    try:
        return bool(_hasher.verify(secret_hash or _DUMMY_HASH, secret)) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False
