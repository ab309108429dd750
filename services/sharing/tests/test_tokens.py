from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from casebridge.common.auth import TokenVerifier
from casebridge.common.errors import Unauthorized
from casebridge.common.settings import IssuerConfig
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing import tokens
from casebridge.sharing.keys import generate_key

from .conftest import COUNCIL, COUNCIL_ROLES, COUNCIL_SCOPES, SECRET, Sharing

ALL_AUDIENCES = [
    "urn:casebridge:intake",
    "urn:casebridge:review",
    "urn:casebridge:sharing",
    "urn:casebridge:stats",
]


def claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified (the verifier tests below check the signature)."""
    import base64
    import json

    header, claims = (
        json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        for part in token.split(".")[:2]
    )
    return header, claims


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert "access_token" not in response.json()


async def test_token_basic_auth_issues_rfc9068_jwt(sharing: Sharing) -> None:
    response = await sharing.token()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert "refresh_token" not in body
    assert response.headers["cache-control"] == "no-store"
    assert body["scope"].split() == sorted(COUNCIL_SCOPES)
    header, claims = claims_of(body["access_token"])
    jwks = (await sharing.client.get("/.well-known/jwks.json")).json()
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": jwks["keys"][0]["kid"]}
    assert claims["iss"] == "http://127.0.0.1:8002"
    assert claims["sub"] == claims["client_id"] == "council-cms"
    assert claims["exp"] - claims["iat"] == 600
    assert abs(claims["iat"] - time.time()) < 5
    assert len(claims["jti"]) >= 16
    assert claims["agency_id"] == str(COUNCIL)
    assert claims["area_id"] == str(DEMO_AREA_ID)
    assert claims["roles"] == COUNCIL_ROLES  # as the registry grants them
    assert "act" not in claims  # the client acts for itself
    assert claims["scope"] == body["scope"]
    assert claims["aud"] == ALL_AUDIENCES
    # and it really is signed by the published key
    jws.deserialize_compact(body["access_token"], KeySet.import_key_set(jwks))


async def test_token_jti_is_unique_per_token(sharing: Sharing) -> None:
    first = claims_of((await sharing.token()).json()["access_token"])[1]
    second = claims_of((await sharing.token()).json()["access_token"])[1]
    assert first["jti"] != second["jti"]


async def test_token_accepts_client_secret_post(sharing: Sharing) -> None:
    response = await sharing.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "police-rms",
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])[1]["sub"] == "police-rms"


async def test_token_wrong_secret_is_invalid_client(sharing: Sharing) -> None:
    response = await sharing.token(secret="wrong")
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_token_unknown_client_is_invalid_client(sharing: Sharing) -> None:
    assert_oauth_error(await sharing.token("nobody"), 401, "invalid_client")


async def test_token_without_credentials_is_invalid_client(sharing: Sharing) -> None:
    response = await sharing.client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert_oauth_error(response, 401, "invalid_client")


async def test_token_excess_scope_is_invalid_scope(sharing: Sharing) -> None:
    response = await sharing.token(scope="complaints:read people:write")
    assert_oauth_error(response, 400, "invalid_scope")


async def test_token_unknown_scope_is_invalid_scope(sharing: Sharing) -> None:
    assert_oauth_error(await sharing.token(scope="root"), 400, "invalid_scope")


async def test_token_narrower_scope_is_granted_as_asked(sharing: Sharing) -> None:
    response = await sharing.token(scope="complaints:read stats:read")
    claims = claims_of(response.json()["access_token"])[1]
    assert claims["scope"] == "complaints:read stats:read"
    assert claims["aud"] == ["urn:casebridge:intake", "urn:casebridge:stats"]


async def test_token_unsupported_grant_type(sharing: Sharing) -> None:
    response = await sharing.client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "u", "password": "p"},
        auth=("council-cms", SECRET),
    )
    assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_token_grant_not_allowed_for_client_is_unauthorized_client(sharing: Sharing) -> None:
    assert_oauth_error(await sharing.token("no-grant"), 400, "unauthorized_client")


async def test_token_secret_in_query_string_is_refused(sharing: Sharing) -> None:
    response = await sharing.client.post(
        f"/oauth/token?client_id=council-cms&client_secret={SECRET}",
        data={"grant_type": "client_credentials"},
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_token_two_authentication_methods_are_refused(sharing: Sharing) -> None:
    response = await sharing.token(client_secret=SECRET)
    assert_oauth_error(response, 400, "invalid_request")


async def test_token_repeated_parameter_is_refused(sharing: Sharing) -> None:
    response = await sharing.client.post(
        "/oauth/token",
        content="grant_type=client_credentials&scope=stats:read&scope=complaints:read",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("council-cms", SECRET),
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_token_resource_narrows_audience_and_scope(sharing: Sharing) -> None:
    response = await sharing.token(resource="urn:casebridge:intake")
    assert response.status_code == 200, response.text
    claims = claims_of(response.json()["access_token"])[1]
    assert claims["aud"] == "urn:casebridge:intake"
    assert claims["scope"] == "complaints:read complaints:write"


async def test_token_resource_out_of_reach_is_invalid_target(sharing: Sharing) -> None:
    response = await sharing.token("housing-hms", resource="urn:casebridge:intake")
    assert_oauth_error(response, 400, "invalid_target")
    response = await sharing.token(resource="https://evil.example/")
    assert_oauth_error(response, 400, "invalid_target")


async def verifier_for(sharing: Sharing, audience: str) -> TokenVerifier:
    """A resource server's verifier that fetches the sharing JWKS from the app itself."""
    return TokenVerifier(
        issuers=[
            IssuerConfig(issuer=sharing.settings.issuer_url, jwks_uri=sharing.settings.jwks_uri)
        ],
        audience=audience,
        http=sharing.client,  # an AsyncClient over ASGITransport: the request reaches the app
    )


async def test_issued_token_verifies_for_its_audience(sharing: Sharing) -> None:
    token = (await sharing.token(resource="urn:casebridge:intake")).json()["access_token"]
    principal = await (await verifier_for(sharing, "urn:casebridge:intake")).verify(token)
    assert principal.client_id == "council-cms"
    assert principal.agency_id == COUNCIL
    assert principal.area_id == DEMO_AREA_ID
    assert principal.scopes == {"complaints:read", "complaints:write"}


async def test_issued_token_without_resource_verifies_for_each_service(sharing: Sharing) -> None:
    token = (await sharing.token()).json()["access_token"]
    for audience in ALL_AUDIENCES:
        await (await verifier_for(sharing, audience)).verify(token)


async def test_issued_token_rejected_for_audience_it_lacks(sharing: Sharing) -> None:
    token = (await sharing.token(resource="urn:casebridge:intake")).json()["access_token"]
    verifier = await verifier_for(sharing, "urn:casebridge:stats")
    with pytest.raises(Unauthorized) as caught:
        await verifier.verify(token)
    assert caught.value.status_code == 401


async def test_token_refused_when_issuer_is_plain_http_off_loopback(sharing: Sharing) -> None:
    """authlib refuses http off loopback; that is a clear 400, not a crash per request."""
    settings = sharing.settings.model_copy(update={"issuer_url": "http://sharing.example"})
    async with sharing.sessions() as session:
        reply = await tokens.issue_token(
            session,
            settings=settings,
            key=generate_key(),
            headers={},
            query="",
            form=[("grant_type", "client_credentials")],
            source="127.0.0.1",
        )
    assert (reply.status, reply.body["error"]) == (400, "insecure_transport")


# ---- roles and the acting user (issue 15) -------------------------------------------------
async def test_token_roles_are_the_clients_and_may_be_narrowed(sharing: Sharing) -> None:
    """A system client's roles come from the registry; it may ask for fewer (a call
    handler's session asks for call_handler only), never for more."""
    narrowed = await sharing.token(roles="call_handler")
    assert narrowed.status_code == 200, narrowed.text
    _, claims = claims_of(narrowed.json()["access_token"])
    assert claims["roles"] == ["call_handler"]
    assert_oauth_error(await sharing.token(roles="call_handler dpo"), 400, "invalid_scope")
    assert_oauth_error(await sharing.token(roles="superuser"), 400, "invalid_scope")
    wrong = await sharing.token(secret="wrong", roles="call_handler")
    assert_oauth_error(wrong, 401, "invalid_client")  # nothing is said before authentication


async def test_token_names_the_user_the_client_acts_for(sharing: Sharing) -> None:
    """RFC 8693 s4.1: the member of staff is the subject, the client the actor; a route
    that records who did something records the user (Principal.subject)."""
    response = await sharing.token(acting_user="pc.1234@demo-police.example", roles="case_officer")
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    _, claims = claims_of(token)
    assert claims["sub"] == "pc.1234@demo-police.example"
    assert claims["act"] == {"sub": "council-cms"}
    assert claims["client_id"] == "council-cms"
    principal = await (await verifier_for(sharing, "urn:casebridge:intake")).verify(token)
    assert principal.subject == "pc.1234@demo-police.example"
    assert principal.client_id == "council-cms"
    assert principal.roles == {"case_officer"}


@pytest.mark.parametrize("user", ["", "two words", "x" * 201, "a\u00e9"])
async def test_token_acting_user_must_be_a_name(sharing: Sharing, user: str) -> None:
    response = await sharing.token(acting_user=user)
    assert response.status_code == 400, response.text
    assert "access_token" not in response.json()


async def test_token_roles_and_acting_user_are_single_valued(sharing: Sharing) -> None:
    response = await sharing.client.post(
        "/oauth/token",
        content="grant_type=client_credentials&acting_user=a&acting_user=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("council-cms", SECRET),
    )
    assert_oauth_error(response, 400, "invalid_request")
