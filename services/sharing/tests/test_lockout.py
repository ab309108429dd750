"""The token endpoint's brute-force lockout (issue 8, item 5): by (client id, source
address), with exponential backoff; the right secret from a source that has not failed is
never refused; lockouts are counted in metrics and logged; behind a proxy the source is
read from the configured header only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from casebridge.sharing.main import create_app
from casebridge.sharing.models import ClientAuthFailure
from casebridge.sharing.settings import Settings
from casebridge.testing.harness import rollback_client
from casebridge.testing.tokens import TokenFactory

from .conftest import SECRET, Sharing, register_partners

ATTACKER = "203.0.113.5"
PARTNER = "198.51.100.7"


@pytest.fixture
async def proxied(
    settings: Settings, tokens: TokenFactory, secret_hash: str
) -> AsyncIterator[Sharing]:
    """The API behind a proxy that puts the caller's address in X-Forwarded-For."""
    settings = settings.model_copy(update={"trusted_proxy_header": "X-Forwarded-For"})
    apps: list[FastAPI] = []

    def make(settings: Settings) -> FastAPI:
        apps.append(create_app(settings))
        return apps[-1]

    async with rollback_client(make, settings, tokens) as (client, sessions):
        async with sessions() as session:
            await register_partners(session, secret_hash)
            await session.commit()
        yield Sharing(client, sessions, tokens, settings, apps[0])


async def token(
    sharing: Sharing, source: str | None, secret: str = SECRET, client_id: str = "council-cms"
) -> httpx.Response:
    headers = {} if source is None else {"X-Forwarded-For": source}
    return await sharing.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        headers=headers,
    )


async def fail(sharing: Sharing, source: str | None, times: int) -> None:
    for _ in range(times):
        response = await token(sharing, source, secret="guess")
        assert response.status_code == 401, response.text


async def expire_locks(sharing: Sharing) -> None:
    """As if the lock had run out (the count and the time of the last failure stay)."""
    async with sharing.sessions() as session:
        await session.execute(update(ClientAuthFailure).values(locked_until=None))
        await session.commit()


def locked(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert "access_token" not in response.json()
    return int(response.headers["retry-after"])


async def test_failures_from_one_source_never_lock_out_another(proxied: Sharing) -> None:
    await fail(proxied, ATTACKER, 5)
    assert locked(await token(proxied, ATTACKER)) > 0  # even the right secret, from there
    assert (await token(proxied, PARTNER)).status_code == 200  # the partner is not refused
    assert (await token(proxied, ATTACKER, client_id="police-rms")).status_code == 200


async def test_below_the_threshold_nothing_is_locked(proxied: Sharing) -> None:
    await fail(proxied, ATTACKER, 4)
    assert (await token(proxied, ATTACKER)).status_code == 200


async def test_each_lockout_doubles_until_the_cap(proxied: Sharing) -> None:
    base, cap = proxied.settings.lockout_base_seconds, proxied.settings.lockout_max_seconds
    await fail(proxied, ATTACKER, 5)
    waits = [locked(await token(proxied, ATTACKER))]
    for _ in range(8):
        await expire_locks(proxied)
        await fail(proxied, ATTACKER, 1)  # one more failure after a lock: locked again
        waits.append(locked(await token(proxied, ATTACKER)))
    expected = [min(base * 2**n, cap) for n in range(9)]
    assert all(e - 2 <= w <= e for w, e in zip(waits, expected, strict=True)), waits
    assert waits[-1] == cap


async def test_the_right_secret_clears_its_source_only(proxied: Sharing) -> None:
    await fail(proxied, ATTACKER, 4)
    await fail(proxied, PARTNER, 4)
    assert (await token(proxied, PARTNER)).status_code == 200
    async with proxied.sessions() as session:
        rows = (await session.scalars(select(ClientAuthFailure))).all()
    assert [(r.source, r.failures) for r in rows] == [(ATTACKER, 4)]


async def test_the_rightmost_forwarded_address_is_the_source(proxied: Sharing) -> None:
    """A client may put anything in the header; the proxy appends the address it saw."""
    for spoofed in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"):
        await fail(proxied, f"{spoofed}, {ATTACKER}", 1)
    assert locked(await token(proxied, f"10.9.9.9, {ATTACKER}")) > 0


async def test_an_ipv6_network_is_one_source(proxied: Sharing) -> None:
    """Anyone holding one IPv6 address holds its whole /64: it counts as one source."""
    for host in range(1, 6):
        await fail(proxied, f"2001:db8:1:2::{host}", 1)
    assert locked(await token(proxied, "2001:db8:1:2::99")) > 0
    assert (await token(proxied, "2001:db8:1:3::1")).status_code == 200


async def test_forwarded_header_is_ignored_unless_configured(sharing: Sharing) -> None:
    """Without a trusted proxy header the source is the connection's peer: a client cannot
    escape its lock by sending X-Forwarded-For."""
    assert sharing.settings.trusted_proxy_header == ""
    for n in range(5):
        await fail(sharing, f"192.0.2.{n}", 1)
    assert locked(await token(sharing, "192.0.2.200")) > 0


async def test_a_lockout_is_counted_and_logged(
    proxied: Sharing, caplog: pytest.LogCaptureFixture
) -> None:
    def count(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    lockouts, refused = (
        count("casebridge_token_lockouts_total"),
        count("casebridge_token_locked_refusals_total"),
    )
    with caplog.at_level(logging.WARNING, logger="casebridge.sharing.lockout"):
        await fail(proxied, ATTACKER, 5)
        await token(proxied, ATTACKER)
    assert count("casebridge_token_lockouts_total") == lockouts + 1
    assert count("casebridge_token_locked_refusals_total") == refused + 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("council-cms" in m and ATTACKER in m and "locked" in m for m in messages), messages
    metrics = (await proxied.client.get("/metrics")).text
    assert "casebridge_token_lockouts_total" in metrics
