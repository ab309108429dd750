"""The token endpoint's async half: refuse malformed requests, enforce the lockout of the
caller's source address, load the client, run authlib in a thread, and count failed
secrets in the database."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from joserfc.jwk import RSAKey
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.sharing import lockout, service
from casebridge.sharing.oauth import TokenClient, TokenRequest, TokenServer
from casebridge.sharing.settings import Settings

log = logging.getLogger(__name__)

MAX_CLIENT_ID = 100
MAX_VALUE = 1000
SINGLE_VALUED = ("grant_type", "scope", "client_id", "client_secret", "roles", "acting_user")
# RFC 6749 appendix A: every parameter of a token request is printable ASCII (VSCHAR).
# Anything else (NUL, a byte that is not UTF-8, a surrogate, any other character) cannot
# name a client, a scope or a resource: it is refused before it reaches the database.
_VSCHAR = re.compile(r"[\x20-\x7e]*")


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


class _BadCredentials(ValueError):
    pass


def basic_credentials(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """HTTP Basic client credentials (RFC 6749 s2.3.1: form-encoded, then base64), or
    (None, None) without them; _BadCredentials when they are not text a client could have."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        client_id, colon, secret = decoded.partition(":")
        values = (unquote(client_id, errors="strict"), unquote(secret, errors="strict"))
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _BadCredentials from exc
    if not all(_printable(v) for v in values):
        raise _BadCredentials
    return values[0], values[1] if colon else None


def _printable(value: str) -> bool:
    return len(value) <= MAX_VALUE and _VSCHAR.fullmatch(value) is not None


def _malformed(
    query: str, form: Sequence[tuple[str, str]], basic_id: str | None
) -> TokenReply | None:
    """RFC 6749 s2.3.1, s3.2: parameters in the body, printable ASCII, once each, one
    authentication method."""
    if query:
        return _error(400, "invalid_request", "Send token request parameters in the form body.")
    for name, value in form:
        if not _printable(name) or not _printable(value):
            return _error(
                400, "invalid_request", "Parameters must be printable ASCII, at most 1000 long."
            )
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
    source: str,
) -> TokenReply:
    """Issue a client-credentials access token, or the RFC 6749 error saying why not.
    `source` is the caller's address (`lockout.source_address`)."""
    try:
        basic_id, _ = basic_credentials(headers)
    except _BadCredentials:
        return _error(400, "invalid_request", "Malformed HTTP Basic client credentials.")
    if (refused := _malformed(query, form, basic_id)) is not None:
        return refused
    client_id: str = basic_id or dict(form).get("client_id") or ""
    if len(client_id) > MAX_CLIENT_ID:
        return _error(401, "invalid_client", "Client authentication failed.")
    if client_id and (wait := await lockout.remaining(session, client_id, source)):
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
        await lockout.record_failure(session, client_id, source, settings=settings)
    elif status == 200:
        await lockout.clear(session, client_id, source)
        log.info("issued token to %s for %s", client_id, body.get("scope"))
    return TokenReply(status, dict(body), dict(response_headers))
