"""Sign real RS256 access tokens for tests, and deliberately broken ones for negative tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

TEST_ISSUER = "https://issuer.test.casebridge"


class TokenFactory:
    def __init__(self, key: RSAKey, issuer: str = TEST_ISSUER) -> None:
        self.key = key
        self.issuer = issuer

    @classmethod
    def generate(cls, issuer: str = TEST_ISSUER, kid: str = "test-key-1") -> TokenFactory:
        return cls(RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"}), issuer)

    def jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.key]).as_dict(private=False))

    def key_set(self) -> KeySet:
        return KeySet.import_key_set(self.jwks())  # type: ignore[arg-type]

    def claims(
        self,
        *,
        scopes: Iterable[str],
        agency_id: UUID,
        area_id: UUID,
        audience: str | list[str],
        lifetime: int = 300,
        **overrides: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"client-{agency_id}",
            "client_id": f"client-{agency_id}",
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(scopes),
            "agency_id": str(agency_id),
            "area_id": str(area_id),
            "roles": [],
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        head = {"alg": "RS256", "typ": "at+jwt", "kid": self.key.kid, **(header or {})}
        head = {k: v for k, v in head.items() if v is not None}
        return jwt.encode(head, claims, self.key, algorithms=["RS256"], default_type=None)

    def make(self, **kwargs: Any) -> str:
        return self.sign(self.claims(**kwargs))

    def headers(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.make(**kwargs)}"}
