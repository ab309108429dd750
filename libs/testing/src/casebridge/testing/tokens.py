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

# The roles a token carries when a test names none: the everyday roles a client holding the
# scope would be granted (docs/roles.md). The privileged ones (partnership_admin, dpo) are
# never implied: a test names them, as a test about roles names every role (`roles=[]`).
USUAL_ROLES: dict[str, tuple[str, ...]] = {
    "complaints:write": ("call_handler", "case_officer"),
    "complaints:read": ("call_handler", "case_officer"),
    "people:read": ("case_officer",),
    "people:write": ("case_officer",),
    "shares:read": ("case_officer",),
    "cases:write": ("case_officer",),
    "reviews:read": ("case_officer", "spoc"),
    "reviews:write": ("case_officer", "spoc"),
    "reviews:panel": ("panel_member",),
    "stats:read": ("analyst",),
}


def usual_roles(scopes: Iterable[str]) -> list[str]:
    return sorted({role for scope in scopes for role in USUAL_ROLES.get(scope, ())})


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
        roles: Iterable[str] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        scopes = list(scopes)
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
            "roles": usual_roles(scopes) if roles is None else list(roles),
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
