"""AUTH-R3, AUTH-R4 (docs/requirements.md): every malformed, forged or misdirected token is a
401 at a real route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from casebridge.common.auth import TokenVerifier
from casebridge.common.errors import Unauthorized
from casebridge.common.settings import IssuerConfig
from casebridge.stats.main import create_app
from casebridge.stats.settings import Settings
from casebridge.testing.harness import rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from casebridge.testing.tokens import TokenFactory

AGENCY, AREA = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
async def stats(
    migrated_database: MigratedDatabase, nats_server: object, tokens: TokenFactory
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    settings = Settings(database_url=await migrated_database("stats"), log_json=False)
    async with rollback_client(create_app, settings, tokens) as (client, _):
        yield client, settings


def good_claims(tokens: TokenFactory, settings: Settings, **overrides: object) -> dict[str, object]:
    return tokens.claims(
        scopes=["stats:read"],
        agency_id=AGENCY,
        area_id=AREA,
        audience=settings.audience_or_default(),
        **overrides,
    )


def without(claims: dict[str, object], name: str) -> dict[str, object]:
    return {k: v for k, v in claims.items() if k != name}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, object]) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": "test-key-1"}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def hs256_with_public_key(tokens: TokenFactory, claims: dict[str, object]) -> str:
    """The classic confusion attack: HMAC-sign with the server's public key as the secret."""
    public_pem = tokens.key.as_pem(private=False)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": tokens.key.kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "stats:read shares:admin"
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def flip_signature_byte(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    return f"{header}.{payload}.{b64(bytes(raw))}"


async def test_valid_token_is_accepted(
    stats: tuple[httpx.AsyncClient, Settings], tokens: TokenFactory
) -> None:
    client, settings = stats
    token = tokens.sign(good_claims(tokens, settings))
    response = await client.get("/stats/complaints", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


BAD_TOKENS = {
    "missing": lambda t, s: None,
    "not a jwt": lambda t, s: "abc.def",
    "alg none": lambda t, s: unsigned(good_claims(t, s)),
    "HS256 signed with the public key": lambda t, s: hs256_with_public_key(t, good_claims(t, s)),
    "expired beyond leeway": lambda t, s: t.sign(
        good_claims(
            t, s, iat=int(time.time()) - 400, exp=int(time.time()) - s.token_leeway_seconds - 1
        )
    ),
    "issued in the future": lambda t, s: t.sign(
        good_claims(t, s, iat=int(time.time()) + 600, exp=int(time.time()) + 900)
    ),
    "not yet valid": lambda t, s: t.sign(good_claims(t, s, nbf=int(time.time()) + 600)),
    "wrong issuer": lambda t, s: t.sign(good_claims(t, s, iss="https://evil.example")),
    "another service's audience": lambda t, s: t.sign(
        good_claims(t, s, aud="urn:casebridge:sharing")
    ),
    "missing typ": lambda t, s: t.sign(good_claims(t, s), header={"typ": None}),
    "typ JWT": lambda t, s: t.sign(good_claims(t, s), header={"typ": "JWT"}),
    "unknown kid": lambda t, s: t.sign(good_claims(t, s), header={"kid": "nobody"}),
    "no kid": lambda t, s: t.sign(good_claims(t, s), header={"kid": None}),
    "tampered payload": lambda t, s: tamper(t.sign(good_claims(t, s))),
    "flipped signature byte": lambda t, s: flip_signature_byte(t.sign(good_claims(t, s))),
    "no agency claim": lambda t, s: t.sign(without(good_claims(t, s), "agency_id")),
    "no jti": lambda t, s: t.sign(without(good_claims(t, s), "jti")),
    "no exp": lambda t, s: t.sign(without(good_claims(t, s), "exp")),
    "no iat": lambda t, s: t.sign(without(good_claims(t, s), "iat")),
    "valid for ten years": lambda t, s: t.sign(good_claims(t, s, lifetime=10 * 365 * 86400)),
    "one second longer than the maximum lifetime": lambda t, s: t.sign(
        good_claims(t, s, lifetime=s.token_max_lifetime_seconds + 1)
    ),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_token_is_401(
    case: str, stats: tuple[httpx.AsyncClient, Settings], tokens: TokenFactory
) -> None:
    client, settings = stats
    token = BAD_TOKENS[case](tokens, settings)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.get("/stats/complaints", headers=headers)
    assert response.status_code == 401, (case, response.text)
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.json()["error"] == "invalid_token"


async def test_a_token_of_the_maximum_lifetime_is_accepted(
    stats: tuple[httpx.AsyncClient, Settings], tokens: TokenFactory
) -> None:
    client, settings = stats
    assert settings.token_max_lifetime_seconds == 3600  # the documented default
    token = tokens.sign(good_claims(tokens, settings, lifetime=3600))
    response = await client.get("/stats/complaints", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def test_the_maximum_lifetime_is_configured_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATS_TOKEN_MAX_LIFETIME_SECONDS", "900")
    settings = Settings()
    assert TokenVerifier.from_settings(settings).max_lifetime == 900


async def test_missing_scope_is_403(
    stats: tuple[httpx.AsyncClient, Settings], tokens: TokenFactory
) -> None:
    client, settings = stats
    token = tokens.sign(good_claims(tokens, settings, scope="complaints:read"))
    response = await client.get("/stats/complaints", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "stats:read" in response.json()["detail"]


def verifier_with_jwks(
    jwks: dict[str, object], counter: list[int], cooldown: float = 30.0, max_age: float = 300.0
) -> TokenVerifier:
    def serve(request: httpx.Request) -> httpx.Response:
        counter.append(1)
        return httpx.Response(200, json=jwks)

    return TokenVerifier(
        issuers=[
            IssuerConfig(
                issuer="https://idp.agency.example", jwks_uri="https://idp.agency.example/jwks"
            )
        ],
        audience="urn:casebridge:stats",
        refresh_cooldown=cooldown,
        max_age=max_age,
        http=httpx.AsyncClient(transport=httpx.MockTransport(serve)),
    )


async def test_unknown_kid_flood_costs_one_jwks_fetch() -> None:
    """AUTH-R4: 1,000 tokens with unknown kids trigger at most one fetch per cooldown."""
    idp = TokenFactory.generate(issuer="https://idp.agency.example", kid="k1")
    fetches: list[int] = []
    verifier = verifier_with_jwks(idp.jwks(), fetches)
    good = idp.make(
        scopes=["stats:read"], agency_id=AGENCY, area_id=AREA, audience="urn:casebridge:stats"
    )
    assert (await verifier.verify(good)).agency_id == AGENCY
    rogue = TokenFactory.generate(issuer="https://idp.agency.example", kid="rogue")
    for _ in range(1000):
        with pytest.raises(Unauthorized):
            await verifier.verify(
                rogue.make(
                    scopes=[], agency_id=AGENCY, area_id=AREA, audience="urn:casebridge:stats"
                )
            )
    assert len(fetches) == 1
    await verifier.aclose()


STATS_CLAIMS: dict[str, Any] = {
    "scopes": ["stats:read"],
    "agency_id": AGENCY,
    "area_id": AREA,
    "audience": "urn:casebridge:stats",
}


def two_keys() -> tuple[TokenFactory, TokenFactory, dict[str, Any], list[int], TokenVerifier]:
    """An issuer with keys k1 and k2 (k1 published), and a verifier of its JWKS that may
    refetch at once."""
    k1 = TokenFactory.generate(issuer="https://idp.agency.example", kid="k1")
    k2 = TokenFactory.generate(issuer="https://idp.agency.example", kid="k2")
    published: dict[str, Any] = {"keys": list(k1.jwks()["keys"])}
    fetches: list[int] = []
    verifier = verifier_with_jwks(published, fetches, cooldown=0.0, max_age=3600)
    return k1, k2, published, fetches, verifier


async def test_rotated_key_is_picked_up_after_cooldown() -> None:
    """AUTH-R4: a token signed with a newly published key is accepted on the next refresh."""
    k1, k2, published, fetches, verifier = two_keys()
    claims = STATS_CLAIMS
    await verifier.verify(k1.make(**claims))
    published["keys"] = list(k1.jwks()["keys"]) + list(k2.jwks()["keys"])
    await verifier.verify(k2.make(**claims))  # unknown kid -> one refresh -> accepted
    published["keys"] = list(k2.jwks()["keys"])  # K1 retired
    await verifier.verify(k1.make(**claims))  # still cached: accepted until the cache ages
    verifier.max_age = 0.0  # the cache has aged out
    with pytest.raises(Unauthorized):
        await verifier.verify(k1.make(**claims))
    assert len(fetches) == 3
    await verifier.aclose()


async def test_a_token_seen_before_is_remembered_until_its_issuer_keys_change() -> None:
    """A client's one token is verified once, not on every request; but a withdrawn key
    still stops it as soon as the keys are refetched, and it never outlives its exp."""
    k1, k2, published, fetches, verifier = two_keys()
    claims = STATS_CLAIMS
    token = k1.make(**claims)
    first = await verifier.verify(token)
    published["keys"] = []  # not fetched again: the token is remembered
    assert await verifier.verify(token) is first
    assert len(fetches) == 1
    published["keys"] = list(k2.jwks()["keys"])  # K1 withdrawn, K2 published
    await verifier.verify(k2.make(**claims))  # unknown kid: the keys are refetched
    with pytest.raises(Unauthorized):
        await verifier.verify(token)
    await verifier.aclose()


async def test_a_remembered_token_expires_with_its_exp() -> None:
    idp = TokenFactory.generate(issuer="https://idp.agency.example", kid="k1")
    fetches: list[int] = []
    verifier = verifier_with_jwks(idp.jwks(), fetches)
    verifier.leeway = 0
    claims = idp.claims(
        scopes=["stats:read"], agency_id=AGENCY, area_id=AREA,
        audience="urn:casebridge:stats", lifetime=3,
    )  # fmt: skip  # 3 s: a loaded machine may take over a second to sign and verify
    token = idp.sign(claims)
    await verifier.verify(token)

    def past_exp() -> bool:  # exp is in whole seconds
        return int(time.time()) > claims["exp"]

    await poll(past_exp, timeout=10, interval=0.05)
    with pytest.raises(Unauthorized):
        await verifier.verify(token)
    await verifier.aclose()
