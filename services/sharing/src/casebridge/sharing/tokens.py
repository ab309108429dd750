"""The token endpoint's async half: refuse malformed requests, enforce the lockout, load the
client, run authlib in a thread, and count failed secrets in the database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from joserfc.jwk import RSAKey
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.sharing import service
from casebridge.sharing.oauth import TokenClient, TokenRequest, TokenServer
from casebridge.sharing.settings import Settings

log = logging.getLogger(__name__)

MAX_CLIENT_ID = 100
SINGLE_VALUED = ("grant_type", "scope", "client_id", "client_secret")


@dataclass(frozen=True)
class TokenReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=lambda: dict(default_json_headers))


def _error(status: int, code: str, description: str, **headers: str) -> TokenReply:
    return TokenReply(
        status,
        {"error": code, "error_description": description},
        dict(default_json_headers) | headers,
    )


def _malformed(
    query: str, form: Sequence[tuple[str, str]], basic_id: str | None
) -> TokenReply | None:
    """RFC 6749 s2.3.1, s3.2: parameters in the body, once each, one authentication method."""
    if query:
        return _error(400, "invalid_request", "Send token request parameters in the form body.")
    names = [name for name, _ in form]
    for name in SINGLE_VALUED:
        if names.count(name) > 1:
            return _error(400, "invalid_request", f"Parameter {name} is repeated.")
    if names.count("resource") > 1:
        return _error(400, "invalid_target", "Ask for one resource per token.")
    if basic_id and "client_secret" in names:
        return _error(400, "invalid_request", "Use one client authentication method.")
    return None


async def issue_token(
    session: AsyncSession,
    *,
    settings: Settings,
    key: RSAKey,
    headers: Mapping[str, str],
    query: str,
    form: Sequence[tuple[str, str]],
) -> TokenReply:
    """Issue a client-credentials access token, or the RFC 6749 error saying why not."""
    basic_id, _ = extract_basic_authorization(headers)
    if (refused := _malformed(query, form, basic_id)) is not None:
        return refused
    client_id: str = basic_id or dict(form).get("client_id") or ""
    if len(client_id) > MAX_CLIENT_ID:
        return _error(401, "invalid_client", "Client authentication failed.")
    if client_id and (wait := await service.lockout_remaining(session, client_id)):
        return _error(
            429,
            "temporarily_unavailable",
            "Too many failed attempts.",
            **{"Retry-After": str(wait)},
        )
    client = await service.find_token_client(session, client_id) or TokenClient.unknown(client_id)
    server = TokenServer(
        client=client,
        issuer=settings.issuer_url,
        key=key,
        lifetime=settings.token_lifetime_seconds,
        resource=dict(form).get("resource"),
    )
    try:
        request = TokenRequest(settings.token_endpoint, headers, form)
    except InsecureTransportError:
        # authlib refuses a plain-http token endpoint off loopback: the issuer URL must be https.
        log.error("SHARING_ISSUER_URL %s is not https: refusing to issue", settings.issuer_url)
        return _error(400, "insecure_transport", "The token endpoint must use https.")
    status, body, response_headers = await asyncio.to_thread(server.create_token_response, request)
    if client_id and body.get("error") == "invalid_client":
        await service.record_auth_failure(session, client_id, settings=settings)
    elif status == 200:
        await service.clear_auth_failures(session, client_id)
        log.info("issued token to %s for %s", client_id, body.get("scope"))
    return TokenReply(status, dict(body), dict(response_headers))
