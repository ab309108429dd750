"""Sharing routes: the token endpoint and its metadata (public), and partner feeds (scoped)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from joserfc.jwk import RSAKey

from casebridge.common.auth import SCOPES, AnyRole, Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.common.pagination import PageSize
from casebridge.sharing import feed, lockout, service, tokens
from casebridge.sharing.keys import public_jwks
from casebridge.sharing.models import Agency, Delivery, Disclosure
from casebridge.sharing.oauth import AUTH_METHODS, GRANT_TYPES
from casebridge.sharing.schemas import AgencyRead, DeliveryPage, DisclosurePage, FeedPage
from casebridge.sharing.settings import Settings

# Public by design (the route-enumeration test allows exactly these); every other route
# declares its scopes with Scoped(...).
PUBLIC_PATHS = frozenset(
    {"/oauth/token", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"}
)

router = APIRouter()


def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def _signing_key(request: Request) -> RSAKey:
    return cast(RSAKey, request.app.state.signing_key)


SharingSettings = Annotated[Settings, Depends(_settings)]
SigningKey = Annotated[RSAKey, Depends(_signing_key)]
# The partner directory names agencies, never people: any role of the area may read it.
CanReadDirectory = Annotated[
    Principal, Scoped("shares:read", role=AnyRole("the directory holds no personal data"))
]
# An agency's deliveries are worked by its case officers; its DPO reads what it was sent.
CanReadShares = Annotated[Principal, Scoped("shares:read", role=("case_officer", "dpo"))]

_VSCHAR = {"type": "string", "pattern": "^[\\x20-\\x7e]*$", "maxLength": 1000}
_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "description": "RFC 6749 parameters are printable ASCII; client "
                    "credentials in HTTP Basic or in client_id/client_secret, not both.",
                    "properties": {
                        "grant_type": {"type": "string", "enum": GRANT_TYPES},
                        "scope": _VSCHAR,
                        "resource": _VSCHAR | {"description": "RFC 8707 audience"},
                        "client_id": _VSCHAR | {"maxLength": 100},
                        "client_secret": _VSCHAR,
                        "roles": _VSCHAR
                        | {"description": "space-separated; a subset of the client's roles"},
                        "acting_user": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9._@+:-]{1,200}$",
                            "description": "the member of staff the client acts for: the "
                            "token's sub (the client is act.sub)",
                        },
                    },
                }
            }
        },
    }
}
_OAUTH_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "error_description": {"type": "string"},
                },
            }
        }
    }
}
_TOKEN_RESPONSES: dict[int | str, Any] = {
    200: {
        "description": "An access token (RFC 9068 JWT)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in"],
                    "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"type": "string", "enum": ["Bearer"]},
                        "expires_in": {"type": "integer"},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    },
    400: {"description": "invalid_request, invalid_scope, invalid_target, ..."} | _OAUTH_ERROR,
    401: {"description": "invalid_client: client authentication failed"} | _OAUTH_ERROR,
    429: {
        "description": "temporarily_unavailable: this source failed too often for this "
        "client; see Retry-After",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
    | _OAUTH_ERROR,
}


@router.post(
    "/oauth/token",
    tags=["oauth"],
    summary="OAuth2 client-credentials token (RFC 6749 s4.4)",
    openapi_extra=_TOKEN_FORM,
    responses=_TOKEN_RESPONSES,
)
async def token(
    request: Request, session: DbSession, settings: SharingSettings, key: SigningKey
) -> JSONResponse:
    form = await request.form()
    reply = await tokens.issue_token(
        session,
        settings=settings,
        key=key,
        headers=request.headers,
        query=request.url.query,
        form=[(name, value) for name, value in form.multi_items() if isinstance(value, str)],
        source=lockout.source_address(request, settings),
    )
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


@router.get("/.well-known/jwks.json", tags=["oauth"], summary="Token signing keys")
async def jwks(key: SigningKey) -> JSONResponse:
    return JSONResponse(public_jwks([key]), headers={"Cache-Control": "public, max-age=300"})


@router.get(
    "/.well-known/oauth-authorization-server",
    tags=["oauth"],
    summary="Authorization server metadata (RFC 8414)",
)
async def metadata(settings: SharingSettings) -> dict[str, Any]:
    return {
        "issuer": settings.issuer_url,
        "token_endpoint": settings.token_endpoint,
        "jwks_uri": settings.jwks_uri,
        "grant_types_supported": GRANT_TYPES,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": list(SCOPES),
        "response_types_supported": [],
    }


@router.get("/agencies", tags=["partners"], response_model=list[AgencyRead])
async def list_agencies(session: DbSession, who: CanReadDirectory) -> Sequence[Agency]:
    """The agencies of the caller's area."""
    return await service.list_agencies(session, principal=who)


@router.get("/deliveries", tags=["partners"], response_model=DeliveryPage)
async def list_deliveries(
    session: DbSession, who: CanReadShares, limit: PageSize = 50, cursor: UUID | None = None
) -> service.Slice[Delivery]:
    """What was delivered to the caller's agency, newest first (browsing; a partner's
    system follows `GET /feed`)."""
    return await service.list_deliveries(session, principal=who, limit=limit, cursor=cursor)


@router.get("/feed", tags=["partners"], response_model=FeedPage)
async def read_feed(
    request: Request,
    who: CanReadShares,
    after: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="the `cursor` of the previous answer")
    ] = 0,
    limit: PageSize = 100,
    wait: Annotated[
        float, Query(ge=0, le=feed.MAX_WAIT_SECONDS, description="long poll: seconds to wait")
    ] = 0,
) -> feed.FeedSlice:
    """What was delivered to the caller's agency, oldest first after `after`; with `wait`,
    answers as soon as the next delivery commits (or empty when the wait runs out)."""
    return await feed.read_feed(
        request.app.state.sessionmaker,
        waiters=request.app.state.feed_waiters,
        principal=who,
        after=after,
        limit=limit,
        wait=wait,
    )


@router.get("/disclosures", tags=["partners"], response_model=DisclosurePage)
async def list_disclosures(
    session: DbSession, who: CanReadShares, limit: PageSize = 50, cursor: UUID | None = None
) -> service.Slice[Disclosure]:
    """Disclosure decisions about the caller's agency (delivered or refused), newest first."""
    return await service.list_disclosures(session, principal=who, limit=limit, cursor=cursor)
