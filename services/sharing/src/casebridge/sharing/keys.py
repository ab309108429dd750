"""The token signing key: an RSA private JWK on disk, created once, readable only by us."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

KEY_SIZE = 2048


def generate_key() -> RSAKey:
    key = RSAKey.generate_key(KEY_SIZE, parameters={"use": "sig", "alg": "RS256"}, auto_kid=False)
    key.ensure_kid()  # RFC 7638 thumbprint
    return key


def load_or_create(path: Path) -> RSAKey:
    """Read the signing key, creating it on first start; concurrent starters agree on one."""
    if not path.exists():
        _create_exclusively(path, generate_key())
    data: dict[str, Any] = json.loads(path.read_text())
    key = RSAKey.import_key(data)
    if key.kid is None:
        key.ensure_kid()
    return key


def _create_exclusively(path: Path, key: RSAKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(key.as_dict(private=True), handle)
        with contextlib.suppress(FileExistsError):  # another replica won the race: use its key
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def public_jwks(keys: list[RSAKey]) -> dict[str, Any]:
    return dict(KeySet(list(keys)).as_dict(private=False))
