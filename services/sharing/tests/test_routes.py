from __future__ import annotations

import base64
import stat
from typing import Any

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc.jwk import RSAKey

from casebridge.common.app import PUBLIC_PATHS as OPS_PATHS
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing.keys import load_or_create
from casebridge.sharing.main import create_app
from casebridge.sharing.routes import PUBLIC_PATHS
from casebridge.sharing.settings import Settings

from .conftest import COUNCIL, HOUSING, OTHER_AGENCY, OTHER_AREA, POLICE, Sharing, complaint_logged
from .test_handlers import apply


def test_every_route_declares_scopes_or_is_public(settings: Settings) -> None:
    """AUTH-R5: walk every operation; only the listed public paths may go without scopes."""
    paths = create_app(settings).openapi()["paths"]
    assert set(paths) >= PUBLIC_PATHS
    for path, operations in paths.items():
        if path in PUBLIC_PATHS | OPS_PATHS:
            continue
        for method, operation in operations.items():
            scopes = [s for req in operation.get("security", []) for s in req.get("casebridge", [])]
            assert scopes, f"{method.upper()} {path} declares no scope"


async def test_jwks_publishes_public_key_only(sharing: Sharing) -> None:
    response = await sharing.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert key["kid"] == RSAKey.import_key(key).thumbprint()


async def test_metadata_is_valid_rfc8414(sharing: Sharing) -> None:
    response = await sharing.client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == "http://127.0.0.1:8002"
    assert body["token_endpoint"] == "http://127.0.0.1:8002/oauth/token"
    assert body["jwks_uri"] == "http://127.0.0.1:8002/.well-known/jwks.json"
    assert body["grant_types_supported"] == ["client_credentials"]
    assert "client_secret_basic" in body["token_endpoint_auth_methods_supported"]
    assert "shares:read" in body["scopes_supported"]
    AuthorizationServerMetadata(body).validate_issuer()
    AuthorizationServerMetadata(body).validate_jwks_uri()


def test_signing_key_is_created_once_and_private(tmp_path: Any) -> None:
    path = tmp_path / "keys" / "signing-key.json"
    key = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.kid == key.thumbprint()
    assert load_or_create(path).kid == key.kid
    modulus = str(key.as_dict(private=False)["n"])
    assert len(base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))) * 8 == 2048


async def shared(sharing: Sharing, count: int = 1) -> None:
    """`count` complaints logged by the council with the victim's consent, about a tenant of
    the housing provider: police and housing each get deliveries, housing as the landlord."""
    for _ in range(count):
        envelope, event = complaint_logged(
            receiving=COUNCIL, consent="given", perpetrator_landlord_ids=[HOUSING]
        )
        await apply(sharing, envelope, event)


async def test_agency_sees_only_its_own_deliveries(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    await shared(sharing)
    police = await sharing.client.get("/deliveries", headers=sharing.auth(POLICE))
    housing = await sharing.client.get("/deliveries", headers=sharing.auth(HOUSING))
    council = await sharing.client.get("/deliveries", headers=sharing.auth(COUNCIL))
    assert police.status_code == housing.status_code == council.status_code == 200
    (to_police,) = police.json()["items"]
    (to_housing,) = housing.json()["items"]
    assert to_police["subject"].split(".")[2] == str(POLICE)
    assert to_housing["subject"].split(".")[2] == str(HOUSING)
    assert "postcode" in to_police["data"]
    assert "postcode" not in to_housing["data"]
    assert "SW1A 1AA" not in housing.text  # the district (SW1A) is not identity; the postcode is
    assert council.json() == {"items": [], "next_cursor": None}


async def test_agency_sees_only_disclosures_to_itself(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    await shared(sharing)
    police = (await sharing.client.get("/disclosures", headers=sharing.auth(POLICE))).json()
    housing = (await sharing.client.get("/disclosures", headers=sharing.auth(HOUSING))).json()
    assert [d["recipient_agency_id"] for d in police["items"]] == [str(POLICE)]
    assert [d["recipient_agency_id"] for d in housing["items"]] == [str(HOUSING)]
    assert police["items"][0]["id"] != housing["items"][0]["id"]


async def test_same_agency_id_in_another_area_sees_nothing(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    await shared(sharing)
    for path in ("/deliveries", "/disclosures"):
        response = await sharing.client.get(path, headers=sharing.auth(POLICE, area=OTHER_AREA))
        assert response.json()["items"] == []


async def test_deliveries_page_newest_first_with_cursor(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    await shared(sharing, count=3)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (
            await sharing.client.get("/deliveries", params=params, headers=sharing.auth(POLICE))
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 3
    assert seen == sorted(seen, reverse=True)


async def test_page_size_is_bounded(sharing: Sharing) -> None:
    for limit in ("0", "101"):
        response = await sharing.client.get(
            "/deliveries", params={"limit": limit}, headers=sharing.auth(POLICE)
        )
        assert response.status_code == 422


async def test_agencies_of_the_callers_area_only(sharing: Sharing) -> None:
    response = await sharing.client.get("/agencies", headers=sharing.auth(HOUSING))
    assert response.status_code == 200
    ids = {a["id"] for a in response.json()}
    assert ids == {str(COUNCIL), str(POLICE), str(HOUSING)}
    assert str(OTHER_AGENCY) not in response.text
    assert all(a["area_id"] == str(DEMO_AREA_ID) for a in response.json())


@pytest.mark.parametrize("path", ["/deliveries", "/disclosures", "/agencies"])
async def test_partner_routes_need_a_valid_token_with_shares_read(
    sharing: Sharing, path: str
) -> None:
    assert (await sharing.client.get(path)).status_code == 401
    expired = sharing.auth(POLICE, lifetime=-120)
    assert (await sharing.client.get(path, headers=expired)).status_code == 401
    other_service = sharing.auth(POLICE, aud="urn:casebridge:intake")
    assert (await sharing.client.get(path, headers=other_service)).status_code == 401
    no_scope = sharing.auth(POLICE, scopes=["complaints:read"])
    response = await sharing.client.get(path, headers=no_scope)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
