"""Bearer-token verification (RFC 9068 access tokens) and scope dependencies.

Every route declares its scopes with `Scoped(...)`; a test walks the routes and fails on one
without. Verification is strict: RS256 only, `typ: at+jwt` required (authlib's validator
accepts a missing one), exact issuer, this service's audience, exp/nbf/iat with small leeway,
a lifetime (exp - iat) no longer than the configured maximum, and a known `kid` (an unknown
one triggers at most one JWKS refresh per cooldown).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

import httpx
from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from casebridge.common import access
from casebridge.common.errors import Forbidden, Unauthorized
from casebridge.common.settings import BaseServiceSettings, ClaimMapping, IssuerConfig

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = ["RS256"]
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}

# Every scope Casebridge knows, with the service (audience) it belongs to.
SCOPES: dict[str, str] = {
    "complaints:write": "Log and update complaints (call handlers)",
    "complaints:read": "Read complaints and complaint logs",
    "people:read": "Read people and their complaint logs",
    "people:write": "Merge and correct complainant records",
    "open311:admin": "Manage Open311 reporting apps",
    "shares:read": "Read this agency's partner deliveries and disclosures",
    "shares:admin": "Administer partners and the information-sharing protocol",
    "cases:write": "Record what this agency did about a case it can see (partner updates)",
    "audit:read": "Read the disclosure audit log (DPO, auditors)",
    "reviews:read": "Read ASB case reviews and triggers",
    "reviews:write": "Apply for and run ASB case reviews",
    "reviews:panel": "Vote on case review thresholds (panel members)",
    "stats:read": "Read statistics",
}
SCOPE_SERVICE: dict[str, str] = {
    "complaints": "intake",
    "people": "intake",
    "open311": "intake",
    "shares": "sharing",
    "cases": "sharing",
    "audit": "sharing",
    "reviews": "review",
    "stats": "stats",
}


def service_of_scope(scope: str) -> str:
    return SCOPE_SERVICE[scope.split(":", 1)[0]]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a partner system or staff member of one agency in one area."""

    subject: str
    client_id: str
    agency_id: UUID
    area_id: UUID
    scopes: frozenset[str]
    roles: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""
    # The person acting through a system client (RFC 8693 `act.sub`), and the purpose the
    # token was issued for: both go into the access records of what it reads.
    actor: str = ""
    purpose: str = ""

    def has(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass
class _IssuerKeys:
    config: IssuerConfig
    keys: KeySet | None = None
    fetched_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class TokenVerifier:
    """Verifies access tokens against the configured issuers' JWKS."""

    def __init__(
        self,
        *,
        issuers: list[IssuerConfig],
        audience: str,
        leeway: int = 30,
        max_lifetime: int = 3600,
        refresh_cooldown: float = 30.0,
        max_age: float = 300.0,
        remember_seconds: float = 60.0,
        remember_max: int = 10_000,
        http: httpx.AsyncClient | None = None,
        static_keys: dict[str, KeySet] | None = None,
    ) -> None:
        self.audience = audience
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self.refresh_cooldown = refresh_cooldown
        self.max_age = max_age
        self.remember_seconds = min(remember_seconds, max_age)
        self.remember_max = remember_max
        # Tokens already verified, by their exact text: (valid until, principal).
        self._verified: dict[str, tuple[float, Principal]] = {}
        self._issuers = {i.issuer: _IssuerKeys(i) for i in issuers}
        for issuer, keys in (static_keys or {}).items():
            self._issuers[issuer].keys = keys
            self._issuers[issuer].fetched_at = time.monotonic()
        self._http = http or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self.jwks_fetches = 0

    @classmethod
    def from_settings(cls, settings: BaseServiceSettings) -> TokenVerifier:
        return cls(
            issuers=settings.issuers,
            audience=settings.audience_or_default(),
            leeway=settings.token_leeway_seconds,
            max_lifetime=settings.token_max_lifetime_seconds,
            refresh_cooldown=settings.jwks_refresh_cooldown_seconds,
            max_age=settings.jwks_max_age_seconds,
            remember_seconds=settings.token_remember_seconds,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def verify(self, token: str) -> Principal:
        """A token seen before (the exact same text) is not verified again until
        `remember_seconds` pass, its `exp` passes or its issuer's keys are refetched,
        whichever comes first: a call handler's client sends one token many times, and an
        RS256 check per request costs more than the rest of the authentication."""
        remembered = self._verified.get(token)
        if remembered is not None:
            if time.time() < remembered[0]:
                return remembered[1]
            del self._verified[token]
        principal, expires = await self._verify(token)
        self._remember(token, principal, expires)
        return principal

    def _remember(self, token: str, principal: Principal, expires: float) -> None:
        if len(self._verified) >= self.remember_max:
            now = time.time()
            self._verified = {t: v for t, v in self._verified.items() if v[0] > now}
            while len(self._verified) >= self.remember_max:  # the oldest go first
                del self._verified[next(iter(self._verified))]
        self._verified[token] = (min(expires, time.time() + self.remember_seconds), principal)

    async def _verify(self, token: str) -> tuple[Principal, float]:
        header, unverified = _peek(token)
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise Unauthorized("algorithm not allowed")
        source = self._issuers.get(str(unverified.get("iss")))
        if source is None:
            raise Unauthorized("untrusted issuer")
        mapping = source.config.mapping
        types = ACCESS_TOKEN_TYPES if mapping is None else set(mapping.token_types)
        if header.get("typ") not in types:
            raise Unauthorized(f"token type must be {' or '.join(sorted(types))}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token has no kid")
        key = await self._key_for(source, kid)
        try:
            decoded = jwt.decode(token, key, algorithms=ALLOWED_ALGORITHMS)
            self._claims_registry(source.config).validate(decoded.claims)
        except JoseError as exc:
            raise Unauthorized(exc.description or exc.error) from exc
        limit = (mapping and mapping.max_lifetime_seconds) or self.max_lifetime
        expires = self._within_lifetime(decoded.claims, limit)
        if mapping is None:
            return _principal(decoded.claims), expires
        return mapped_principal(mapping, decoded.claims), expires

    def _within_lifetime(self, claims: dict[str, Any], limit: int) -> float:
        """`exp` once `exp - iat` is known to be within the maximum lifetime."""
        exp, iat = claims["exp"], claims["iat"]
        if not all(type(v) in (int, float) for v in (exp, iat)):
            raise Unauthorized("exp and iat must be numbers")
        if exp - iat > limit:
            raise Unauthorized(f"token lifetime exceeds {limit} seconds")
        return float(exp)

    def _claims_registry(self, config: IssuerConfig) -> jwt.JWTClaimsRegistry:
        mapping = config.mapping
        audience = (mapping and mapping.audience) or self.audience
        return jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            jti={"essential": mapping is None or mapping.require_jti},
        )

    async def _key_for(self, source: _IssuerKeys, kid: str) -> RSAKey:
        # A withdrawn key must stop working once the cache ages out (AUTH-R4).
        stale = source.keys is not None and time.monotonic() - source.fetched_at > self.max_age
        if stale:
            await self._refresh(source)
        key = _find(source.keys, kid)
        if key is None and not stale:
            await self._refresh(source)
            key = _find(source.keys, kid)
        if key is None:
            raise Unauthorized("unknown key id")
        return key

    async def _refresh(self, source: _IssuerKeys) -> None:
        """Fetch the issuer's JWKS, at most once per cooldown (a flood of bad kids costs one)."""
        async with source.lock:
            if source.keys is not None and (
                time.monotonic() - source.fetched_at < self.refresh_cooldown
            ):
                return
            source.fetched_at = time.monotonic()
            self.jwks_fetches += 1
            try:
                response = await self._http.get(source.config.jwks_uri)
                response.raise_for_status()
                source.keys = KeySet.import_key_set(response.json())
                self._verified.clear()  # a withdrawn key must not live on in remembered tokens
            except (httpx.HTTPError, ValueError, JoseError) as exc:
                log.warning("JWKS fetch from %s failed: %s", source.config.jwks_uri, exc)


def _find(keys: KeySet | None, kid: str) -> RSAKey | None:
    if keys is None:
        return None
    for key in keys.keys:
        if key.kid == kid and isinstance(key, RSAKey):
            return key
    return None


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read header and claims before verification, only to pick the issuer and key."""
    import base64

    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("malformed token")
    try:
        decoded = [json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2]]
    except ValueError as exc:
        raise Unauthorized("malformed token") from exc
    if not all(isinstance(d, dict) for d in decoded):
        raise Unauthorized("malformed token")
    return decoded[0], decoded[1]


def _principal(claims: dict[str, Any]) -> Principal:
    try:
        return Principal(
            subject=str(claims["sub"]),
            client_id=str(claims.get("client_id", claims["sub"])),
            agency_id=UUID(str(claims["agency_id"])),
            area_id=UUID(str(claims["area_id"])),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            roles=frozenset(claims.get("roles") or ()),
            token_id=str(claims.get("jti", "")),
            actor=_actor(claims.get("act")),
            purpose=str(claims.get("purpose") or "")[:100],
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthorized("token lacks agency claims") from exc


def _actor(act: Any) -> str:
    """The acting party of a delegated token (`act: {"sub": ...}`), if it names one."""
    return str(act["sub"]) if isinstance(act, dict) and act.get("sub") else ""


def mapped_principal(mapping: ClaimMapping, claims: dict[str, Any]) -> Principal:
    """A member of staff signed in with their own organisation's identity provider: the
    groups (or roles) its token lists, as the issuer's mapping grants them (403 when none is
    mapped, or when they map to more than one agency)."""
    listed = _claim(claims, mapping.claim)
    values = [listed] if isinstance(listed, str) else listed if isinstance(listed, list) else []
    grants = [mapping.groups[v] for v in values if isinstance(v, str) and v in mapping.groups]
    if not grants:
        raise Forbidden(f"none of this user's {mapping.claim} is mapped to a Casebridge agency")
    agencies = {g.agency_id for g in grants}
    if len(agencies) > 1:
        raise Forbidden(f"this user's {mapping.claim} map to more than one agency")
    subject = claims.get(mapping.subject_claim)
    if not isinstance(subject, str) or not subject:
        raise Unauthorized(f"token has no {mapping.subject_claim}")
    return Principal(
        subject=subject,
        client_id=str(claims.get(mapping.client_claim) or claims["iss"]),
        agency_id=agencies.pop(),
        area_id=mapping.area_id,
        scopes=frozenset(s for g in grants for s in g.scopes),
        roles=frozenset(r for g in grants for r in g.roles),
        token_id=str(claims.get("jti") or claims.get("uti") or ""),
    )


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by its dotted path (realm_access.roles), or None."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes=SCOPES)
    ),
    scheme_name="casebridge",
    auto_error=False,
)


async def current_principal(
    security_scopes: SecurityScopes,
    request: Request,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """Authenticate the bearer token and require every scope the route declares."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(authorization[7:].strip())
    revocations = getattr(request.app.state, "revocations", None)
    if revocations is not None and await revocations.revoked(
        request.app.state.sessionmaker, principal.client_id
    ):
        raise Unauthorized("this client's credentials were revoked")
    missing = [s for s in security_scopes.scopes if not principal.has(s)]
    if missing:
        raise Forbidden(f"token lacks scope: {' '.join(missing)}")
    access.bind(principal)
    return principal


# The roles a token may carry (from the registry for a system client, or mapped from an
# agency's identity provider for its staff). A route that needs one declares it.
ROLES: dict[str, str] = {
    "call_handler": "Logs complaints at the call",
    "case_officer": "Works an agency's cases",
    "spoc": "Single point of contact for ASB Case Reviews",
    "panel_member": "Votes on case review thresholds",
    "dpo": "Data protection officer: audits disclosures and access",
    "analyst": "Reads statistics",
    "partnership_admin": "Administers the partnership: partners, protocol, procedures",
}


@dataclass(frozen=True)
class AnyRole:
    """A route any role of an agency with the scope may use, and why (the route walk reads
    the reason, so "any role" is a decision someone wrote down, never an omission)."""

    reason: str


# A route's role: one role, any of several, or AnyRole with its reason.
RoleSpec = str | tuple[str, ...] | AnyRole


def Scoped(*scopes: str, role: RoleSpec | None = None) -> Any:  # noqa: N802 - reads like a type
    """Declare the scopes and the role a route requires; the one way routes authenticate
    (a route without a role fails the route walk)."""
    if role is None:
        return Security(current_principal, scopes=list(scopes))
    return Security(role_check(role), scopes=list(scopes))


_ROLE_CHECKS: dict[tuple[str, ...] | AnyRole, Any] = {}


def _roles_of(role: RoleSpec) -> tuple[str, ...] | AnyRole:
    if isinstance(role, AnyRole):
        if not role.reason.strip():
            raise ValueError("AnyRole needs a reason")
        return role
    wanted = (role,) if isinstance(role, str) else tuple(sorted(set(role)))
    unknown = [r for r in wanted if r not in ROLES]
    if unknown or not wanted:
        raise ValueError(f"unknown role {' '.join(unknown) or '(none)'}")
    return wanted


def role_check(role: RoleSpec) -> Any:
    """One dependency per role requirement (FastAPI caches by callable), under
    `current_principal`, so the route walk finds the scopes and `required_roles` names the
    roles (None with `any_role_reason` for AnyRole)."""
    key = _roles_of(role)
    check = _ROLE_CHECKS.get(key)
    if check is None:
        check = _ROLE_CHECKS[key] = _make_check(key)
    return check


def declared_roles(dependant: Any) -> tuple[str, ...] | AnyRole | None:
    """The roles a route's dependencies require (any one of them), AnyRole with its reason,
    or None when it declares none (the route walk and the OpenAPI document read this)."""
    found: tuple[str, ...] | AnyRole | None = None
    pending = list(dependant.dependencies)
    while pending:
        sub = pending.pop()
        call: Any = sub.call
        if hasattr(call, "required_roles"):
            roles = call.required_roles
            found = AnyRole(str(call.any_role_reason)) if roles is None else tuple(roles)
        pending.extend(sub.dependencies)
    return found


def _make_check(key: tuple[str, ...] | AnyRole) -> Any:
    # FastAPI resolves this signature's (postponed) annotations in the module's globals:
    # `Security` must be imported there, not here.
    async def check(
        principal: Annotated[Principal, Security(current_principal)],
    ) -> Principal:
        if isinstance(key, tuple) and not principal.roles & set(key):
            raise Forbidden(f"this needs the {' or '.join(key)} role")
        return principal

    if isinstance(key, AnyRole):
        check.required_roles = None  # type: ignore[attr-defined]
        check.any_role_reason = key.reason  # type: ignore[attr-defined]
    else:
        check.required_roles = key  # type: ignore[attr-defined]
    return check
