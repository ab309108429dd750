"""Issue 15 item 2: partners' staff sign in with their own organisation's identity provider.
A second, test-only issuer (its own key; its JWKS served over HTTP by a mock of that outside
server) signs tokens shaped as Entra ID and Keycloak sign them; the issuer's mapping turns
their groups or roles claim into a Casebridge agency, roles and scopes, at a real route."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from casebridge.common.auth import TokenVerifier
from casebridge.common.errors import Forbidden, Unauthorized
from casebridge.common.settings import ClaimMapping, GroupGrant, IssuerConfig
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.devstack.seeds.review import demo_document
from casebridge.review.main import create_app
from casebridge.review.settings import Settings
from casebridge.testing.harness import running
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

COUNCIL, _ = DEMO_AGENCIES["council"]
POLICE, _ = DEMO_AGENCIES["police"]
ENTRA = "https://login.microsoftonline.com/7f1c0b1e-0000-4000-8000-000000000001/v2.0"
KEYCLOAK = "https://sso.demo-police.example/realms/asb"
AUDIENCE = "urn:casebridge:review"
# Entra ID lists group object ids; Keycloak lists realm roles under realm_access.roles.
SPOC_GROUP = "5b0c3f7e-1111-4c2b-9d7e-0a0a0a0a0001"
ADMIN_GROUP = "5b0c3f7e-1111-4c2b-9d7e-0a0a0a0a0002"
UNMAPPED_GROUP = "5b0c3f7e-1111-4c2b-9d7e-0a0a0a0a0099"
YAML = {"Content-Type": "application/yaml"}

ENTRA_MAPPING = ClaimMapping(
    area_id=DEMO_AREA_ID,
    claim="groups",
    subject_claim="oid",
    token_types=["JWT"],
    require_jti=False,
    max_lifetime_seconds=5400,
    groups={
        SPOC_GROUP: GroupGrant(
            agency_id=COUNCIL,
            roles=["spoc", "case_officer"],
            scopes=["reviews:read", "reviews:write"],
        ),
        ADMIN_GROUP: GroupGrant(
            agency_id=COUNCIL, roles=["partnership_admin"], scopes=["reviews:write"]
        ),
    },
)
KEYCLOAK_MAPPING = ClaimMapping(
    area_id=DEMO_AREA_ID,
    claim="realm_access.roles",
    token_types=["JWT"],
    groups={
        "asb-call-handler": GroupGrant(
            agency_id=POLICE, roles=["call_handler"], scopes=["complaints:write"]
        ),
        "asb-panel": GroupGrant(agency_id=POLICE, roles=["panel_member"], scopes=["reviews:panel"]),
        "council-spoc": GroupGrant(agency_id=COUNCIL, roles=["spoc"]),
    },
)


@pytest.fixture(scope="module")
def entra() -> TokenFactory:
    return TokenFactory.generate(issuer=ENTRA, kid="entra-key-1")


@pytest.fixture(scope="module")
def keycloak() -> TokenFactory:
    return TokenFactory.generate(issuer=KEYCLOAK, kid="keycloak-key-1")


def jwks_server(*idps: TokenFactory) -> httpx.AsyncClient:
    """The identity providers' JWKS endpoints, outside Casebridge (so mocked), fetched by
    the verifier's real HTTP code."""
    documents = {f"{idp.issuer}/keys": idp.jwks() for idp in idps}

    def handler(request: httpx.Request) -> httpx.Response:
        found = documents.get(str(request.url))
        return httpx.Response(200, json=found) if found else httpx.Response(404)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def verifier(tokens: TokenFactory, entra: TokenFactory, keycloak: TokenFactory) -> TokenVerifier:
    return TokenVerifier(
        issuers=[
            IssuerConfig(issuer=tokens.issuer, jwks_uri=f"{tokens.issuer}/keys"),
            IssuerConfig(issuer=ENTRA, jwks_uri=f"{ENTRA}/keys", mapping=ENTRA_MAPPING),
            IssuerConfig(issuer=KEYCLOAK, jwks_uri=f"{KEYCLOAK}/keys", mapping=KEYCLOAK_MAPPING),
        ],
        audience=AUDIENCE,
        http=jwks_server(tokens, entra, keycloak),
    )


def entra_token(entra: TokenFactory, groups: list[str], **changes: Any) -> str:
    """An Entra ID v2 access token: typ JWT, oid and tid, uti instead of jti, 75 minutes."""
    now = int(time.time())
    claims = {
        "iss": ENTRA,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 4500,
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "tid": "7f1c0b1e-0000-4000-8000-000000000001",
        "azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "uti": uuid.uuid4().hex,
        "ver": "2.0",
        "groups": groups,
    }
    return entra.sign({**claims, **changes}, header={"typ": "JWT"})


def keycloak_token(keycloak: TokenFactory, roles: list[str]) -> str:
    now = int(time.time())
    claims = {
        "iss": KEYCLOAK,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "sub": "f:pc-1234",
        "azp": "police-rms",
        "typ": "Bearer",
        "realm_access": {"roles": ["offline_access", *roles]},
    }
    return keycloak.sign(claims, header={"typ": "JWT"})


async def test_an_entra_group_maps_to_its_agency_roles_and_scopes(
    tokens: TokenFactory, entra: TokenFactory, keycloak: TokenFactory
) -> None:
    principal = await verifier(tokens, entra, keycloak).verify(
        entra_token(entra, [UNMAPPED_GROUP, SPOC_GROUP])
    )
    assert principal.agency_id == COUNCIL
    assert principal.area_id == DEMO_AREA_ID
    assert principal.roles == {"spoc", "case_officer"}
    assert principal.scopes == {"reviews:read", "reviews:write"}
    assert principal.subject == "00000000-0000-0000-66f3-3332eca7ea81"  # the oid
    assert principal.client_id == "6e74172b-be56-4843-9ff4-e66a39bb12e3"


async def test_keycloak_realm_roles_map_and_add_up(
    tokens: TokenFactory, entra: TokenFactory, keycloak: TokenFactory
) -> None:
    token = keycloak_token(keycloak, ["asb-call-handler", "asb-panel"])
    principal = await verifier(tokens, entra, keycloak).verify(token)
    assert principal.agency_id == POLICE
    assert principal.roles == {"call_handler", "panel_member"}
    assert principal.scopes == {"complaints:write", "reviews:panel"}
    assert principal.subject == "f:pc-1234"


@pytest.mark.parametrize(
    ("roles", "reason"),
    [
        ([], "is mapped"),
        (["offline_access", "uma_authorization"], "is mapped"),
        (["asb-panel", "council-spoc"], "more than one agency"),
    ],
)
async def test_an_unmapped_or_ambiguous_user_gets_nothing(
    tokens: TokenFactory, entra: TokenFactory, keycloak: TokenFactory, roles: list[str], reason: str
) -> None:
    with pytest.raises(Forbidden, match=reason):
        await verifier(tokens, entra, keycloak).verify(keycloak_token(keycloak, roles))


async def test_the_mapping_relaxes_nothing_it_does_not_name(
    tokens: TokenFactory, entra: TokenFactory, keycloak: TokenFactory
) -> None:
    """Casebridge's own issuer still needs at+jwt; a provider's token signed with a key not
    in its JWKS, for another audience, or longer-lived than its mapping allows is refused."""
    check = verifier(tokens, entra, keycloak)
    own = tokens.claims(scopes=["reviews:read"], agency_id=COUNCIL, area_id=DEMO_AREA_ID,
                        audience=AUDIENCE)  # fmt: skip
    with pytest.raises(Unauthorized, match="token type"):
        await check.verify(tokens.sign(own, header={"typ": "JWT"}))
    impostor = TokenFactory.generate(issuer=ENTRA, kid="entra-key-1")
    with pytest.raises(Unauthorized):
        await check.verify(entra_token(impostor, [SPOC_GROUP]))
    with pytest.raises(Unauthorized):
        await check.verify(entra_token(entra, [SPOC_GROUP], aud="api://someone-else"))
    with pytest.raises(Unauthorized, match="lifetime"):
        await check.verify(entra_token(entra, [SPOC_GROUP], exp=int(time.time()) + 7200))
    now = int(time.time())
    claims = {"iss": KEYCLOAK, "aud": AUDIENCE, "iat": now, "exp": now + 60, "sub": "x",
              "realm_access": {"roles": ["asb-panel"]}}  # fmt: skip
    with pytest.raises(Unauthorized, match="jti"):  # Keycloak's mapping requires it
        await check.verify(keycloak.sign(claims, header={"typ": "JWT"}))


def test_a_mapping_names_known_roles_and_scopes_only() -> None:
    with pytest.raises(ValidationError, match="unknown roles: superuser"):
        GroupGrant(agency_id=COUNCIL, roles=["superuser"])
    with pytest.raises(ValidationError, match="unknown scopes: reviews:everything"):
        GroupGrant(agency_id=COUNCIL, scopes=["reviews:everything"])
    with pytest.raises(ValidationError):
        ClaimMapping(area_id=DEMO_AREA_ID, groups={})


def test_issuers_with_mappings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "REVIEW_ISSUERS",
        f'[{{"issuer": "{KEYCLOAK}", "jwks_uri": "{KEYCLOAK}/protocol/openid-connect/certs",'
        f' "mapping": {{"area_id": "{DEMO_AREA_ID}", "claim": "realm_access.roles",'
        f' "groups": {{"asb-panel": {{"agency_id": "{POLICE}", "roles": ["panel_member"]}}}}}}}}]',
    )
    (issuer,) = Settings().issuers
    assert issuer.mapping is not None
    assert issuer.mapping.groups["asb-panel"].roles == ["panel_member"]


# ---- at a real route ----------------------------------------------------------------------
@pytest.fixture
async def review(
    migrated_database: MigratedDatabase,
    nats_server: Any,
    tokens: TokenFactory,
    entra: TokenFactory,
    keycloak: TokenFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=await migrated_database("review"), log_json=False)
    app = create_app(settings)
    async with running(app) as client:
        app.state.token_verifier = verifier(tokens, entra, keycloak)
        yield client


async def test_staff_of_a_mapped_group_use_the_api_with_their_roles(
    review: httpx.AsyncClient, entra: TokenFactory
) -> None:
    """The SPOC group may not change the area's procedure; the administrators' group may;
    a user in no mapped group gets 403 even on a route any role may use."""
    spoc = {"Authorization": f"Bearer {entra_token(entra, [SPOC_GROUP])}"}
    admin = {"Authorization": f"Bearer {entra_token(entra, [ADMIN_GROUP])}"}
    nobody = {"Authorization": f"Bearer {entra_token(entra, [UNMAPPED_GROUP])}"}
    refused = await review.put("/config", content=demo_document(), headers=spoc | YAML)
    assert refused.status_code == 403
    assert "partnership_admin" in refused.json()["detail"]
    published = await review.put("/config", content=demo_document(), headers=admin | YAML)
    assert published.status_code == 201, published.text
    assert (await review.get("/config", headers=spoc)).status_code == 200
    unmapped = await review.get("/config", headers=nobody)
    assert unmapped.status_code == 403
    assert "mapped" in unmapped.json()["detail"]
