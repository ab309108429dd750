"""The token endpoint refuses input it cannot store or compare with a 400/401 of RFC 6749,
never a 500 (issue 8, item 4): NUL bytes, lone surrogates, bytes that are not UTF-8 and
over-long values, in the form and in HTTP Basic credentials."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy import func, select

from casebridge.sharing.models import ClientAuthFailure

from .conftest import SECRET, Sharing

# Raw (already URL-encoded) values: %00 is NUL, %ED%A0%80 is a UTF-16 surrogate encoded as
# if it were a character (not valid UTF-8), %FF is no UTF-8 at all.
BAD = {
    "NUL": "council%00-cms",
    "lone surrogate": "council%ED%A0%80",
    "not UTF-8": "council%FF",
    "over-long": "c" * 5000,
    "only NUL": "%00",
}
FIELDS = ("client_id", "client_secret", "scope", "resource", "grant_type")


def form(**raw: str) -> bytes:
    values = {"grant_type": "client_credentials", **raw}
    return "&".join(f"{k}={v}" for k, v in values.items()).encode()


async def post(sharing: Sharing, body: bytes, basic: bytes | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(basic).decode()
    return await sharing.client.post("/oauth/token", content=body, headers=headers)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("case", list(BAD))
async def test_bad_form_value_is_an_oauth_error(sharing: Sharing, field: str, case: str) -> None:
    extra = {} if field in ("client_id", "client_secret") else {"client_id": "council-cms"}
    if field != "client_secret":
        extra["client_secret"] = SECRET
    response = await post(sharing, form(**(extra | {field: BAD[case]})))
    assert response.status_code in (400, 401), response.text
    body = response.json()
    assert body["error"] in ("invalid_request", "invalid_client"), body
    assert "access_token" not in body


@pytest.mark.parametrize(
    "credentials",
    [
        b"council\x00-cms:" + SECRET.encode(),
        b"council-cms:" + SECRET.encode() + b"\x00",
        b"council\xed\xa0\x80:" + SECRET.encode(),
        b"council\xff:" + SECRET.encode(),
        b"c" * 5000 + b":" + SECRET.encode(),
        b"council-cms:" + b"s" * 5000,
        b"no-colon-at-all",
        b"council%00-cms:" + SECRET.encode(),
        b"council%FF:" + SECRET.encode(),
    ],
    ids=[
        "NUL id",
        "NUL secret",
        "surrogate",
        "not UTF-8",
        "long id",
        "long secret",
        "no colon",
        "encoded NUL",
        "encoded non-UTF-8",
    ],
)
async def test_bad_basic_credentials_are_refused(sharing: Sharing, credentials: bytes) -> None:
    response = await post(sharing, form(), basic=credentials)
    assert response.status_code in (400, 401), response.text
    body = response.json()
    assert body["error"] in ("invalid_request", "invalid_client")
    assert "access_token" not in body


async def test_bad_client_ids_are_not_counted(sharing: Sharing) -> None:
    """A client id that cannot exist is refused before the lockout table sees it."""
    for raw in ("council%00-cms", "council%ED%A0%80", "c" * 5000):
        await post(sharing, form(client_id=raw, client_secret="x"))
    async with sharing.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ClientAuthFailure)) == 0
