"""The client-credentials token endpoint on authlib's generic AuthorizationServer.

authlib is synchronous and has no FastAPI integration: the async boundary (`tokens.py`) reads
the form and loads the client first, then runs one `TokenServer` per request in a thread (the
argon2 check and the RSA signature are CPU work), so nothing here touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet, RSAKey

from casebridge.common.auth import SCOPES, service_of_scope
from casebridge.sharing.credentials import verify_secret

GRANT_TYPES = ["client_credentials"]
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
SERVICES = ("intake", "sharing", "review", "stats")


def audience_of(service: str) -> str:
    return f"urn:casebridge:{service}"


AUDIENCES = {audience_of(s): s for s in SERVICES}
# Who the client acts for: its own name for the member of staff (an email, a warrant number,
# the subject its identity provider gave them). Printable, no spaces, at most 200.
ACTING_USER = re.compile(r"[A-Za-z0-9._@+:-]{1,200}")


@dataclass
class Acting:
    """What the grant decided beyond the scopes: the roles granted, and the user (if any)
    the client acts for (the token's `sub`, the client in `act.sub`: RFC 8693 s4.1)."""

    roles: list[str] = field(default_factory=list)
    user: str | None = None


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707: the requested resource is unknown or out of this client's reach."""

    error = "invalid_target"


@dataclass(frozen=True)
class TokenClient(ClientMixin):  # type: ignore[misc]
    """A registered client as authlib sees it: no secret, only its hash."""

    client_id: str
    secret_hash: str | None
    agency_id: UUID | None = None
    area_id: UUID | None = None
    scopes: frozenset[str] = frozenset()
    grant_types: frozenset[str] = frozenset()
    roles: tuple[str, ...] = ()

    @classmethod
    def unknown(cls, client_id: str) -> TokenClient:
        """Stands in for an unknown or inactive client, so a miss costs a full hash check."""
        return cls(client_id=client_id, secret_hash=None)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope  # the grant has already narrowed it

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._datalist: dict[str, list[str]] = {}
        for key, value in items:
            self._datalist.setdefault(key, []).append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class TokenRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(self, uri: str, headers: Mapping[str, str], form: Sequence[tuple[str, str]]):
        super().__init__("POST", uri, headers=headers)
        self.payload = FormPayload(form)

    @property
    def args(self) -> dict[str, str]:
        return {}  # never read parameters from the query string

    @property
    def form(self) -> dict[str, str]:
        return dict(self.payload.data)


def grant_scopes(allowed: frozenset[str], requested: str | None, resource: str | None) -> list[str]:
    """Requested scopes must all be allowed (none asked = all allowed); a resource keeps only
    the scopes of its service and must keep at least one."""
    wanted = set(requested.split()) if requested and requested.strip() else set(allowed)
    if not wanted <= allowed or not wanted <= SCOPES.keys():
        raise InvalidScopeError("The requested scope exceeds what this client may ask for.")
    if resource is not None:
        service = AUDIENCES.get(resource)
        if service is None:
            raise InvalidTargetError("Unknown resource.")
        wanted = {s for s in wanted if service_of_scope(s) == service}
        if not wanted:
            raise InvalidTargetError("The granted scopes do not reach this resource.")
    return sorted(wanted)


def grant_roles(allowed: Sequence[str], requested: str | None) -> list[str]:
    """Requested roles must all be the client's (none asked = all it was granted): a system
    acting for a call handler asks for `call_handler` only."""
    if requested is None or not requested.strip():
        return sorted(allowed)
    wanted = set(requested.split())
    if not wanted <= set(allowed):
        raise InvalidScopeError("The requested roles exceed what this client was granted.")
    return sorted(wanted)


def acting_user(value: str | None) -> str | None:
    if value is None:
        return None
    if ACTING_USER.fullmatch(value) is None:
        raise InvalidRequestError(
            "acting_user must be 1-200 letters, digits or . _ @ + : - (no spaces)."
        )
    return value


def audiences_for(scopes: Sequence[str], resource: str | None) -> str | list[str]:
    if resource is not None:
        return resource
    return sorted({audience_of(service_of_scope(s)) for s in scopes})


class ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        """After client authentication: the scopes, the roles and the acting user asked for."""
        self.granted = grant_scopes(
            self.client.scopes, self.request.payload.scope, self.server.resource
        )
        data = self.request.payload.data
        self.server.acting.roles = grant_roles(self.client.roles, data.get("roles"))
        self.server.acting.user = acting_user(data.get("acting_user"))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(scope=" ".join(self.granted), include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 tokens with our claims: agency, area, roles, and one audience per service."""

    def __init__(
        self, *, issuer: str, key: RSAKey, lifetime: int, resource: str | None, acting: Acting
    ):
        super().__init__(issuer=issuer, alg="RS256", expires_generator=lifetime)
        self.key_set = KeySet([key])  # joserfc puts the key's kid in the header
        self.resource = resource
        self.acting = acting

    def get_jwks(self) -> KeySet:
        return self.key_set

    def get_audiences(self, client: TokenClient, user: Any, scope: str) -> str | list[str]:
        return audiences_for(scope.split(), self.resource)

    def get_extra_claims(
        self, client: TokenClient, grant_type: str, user: Any, scope: str
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "agency_id": str(client.agency_id),
            "area_id": str(client.area_id),
            "roles": list(self.acting.roles),
        }
        if self.acting.user is not None:
            claims |= {"sub": self.acting.user, "act": {"sub": client.client_id}}
        return claims


class TokenServer(AuthorizationServer):  # type: ignore[misc]
    """One per request: it knows the one client the request names, loaded beforehand."""

    def __init__(
        self, *, client: TokenClient, issuer: str, key: RSAKey, lifetime: int, resource: str | None
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.client = client
        self.resource = resource
        self.acting = Acting()
        self.register_grant(ClientCredentials)
        generator = AccessTokenGenerator(
            issuer=issuer, key=key, lifetime=lifetime, resource=resource, acting=self.acting
        )
        self.register_token_generator("default", generator)

    def query_client(self, client_id: str) -> TokenClient:
        if client_id == self.client.client_id:
            return self.client
        return TokenClient.unknown(client_id)

    def save_token(self, token: dict[str, Any], request: TokenRequest) -> None:
        """JWTs are self-contained: nothing to store; the caller logs the issue."""

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("the token endpoint takes form posts only")

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No listeners: authentication outcomes are recorded by the async boundary."""
