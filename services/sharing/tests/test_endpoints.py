"""Webhook endpoints and NATS users as registry records: secrets shown once, webhooks only
on https public addresses, NATS passwords kept as the bcrypt hash a real nats-server takes."""

from __future__ import annotations

import json
from typing import Any

import bcrypt
import nats
import pytest
from nats.errors import NoServersError
from sqlalchemy import select

from casebridge.devstack import NatsServer, free_port
from casebridge.sharing.endpoints import webhook_url_problem
from casebridge.sharing.models import NatsUser, WebhookEndpoint
from casebridge.testing.plugin import server_dir

from .conftest import OTHER_AGENCY, OTHER_AREA, POLICE, Sharing

REFUSED = [
    "http://hooks.example.org/x",  # not https
    "https://127.0.0.1/x",
    "https://localhost:8443/x",
    "https://api.localhost/x",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://10.1.2.3/x",
    "https://192.168.0.10/x",
    "https://172.16.5.4/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[fe80::1]/x",
    "https://100.64.0.1/x",  # carrier-grade NAT
    "https://0.0.0.0/x",
    "https://224.0.0.1/x",
    "https://sharing-api/x",  # a single-label (cluster-internal) name
    "https://printer.local/x",
    "https://db.internal/x",
    "https://0x7f.0.0.1/x",  # an address in disguise
    "https://user:pw@hooks.example.org/x",
    "https://hooks.example.org/x#frag",
    "ftp://hooks.example.org/x",
    "https://hooks.example.org:99999/x",
    "not a url",
    "https://hooks.example.org/\x00",
    "https://hooks.example.org/caf\u00e9",
    "https://hooks.example.org/a b",
]


@pytest.mark.parametrize("url", REFUSED)
def test_webhook_urls_refused(url: str) -> None:
    assert webhook_url_problem(url, allow_loopback=False) is not None


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.org/casebridge", "https://8.8.8.8/x", "https://[2001:4860::8888]/x"],
)
def test_webhook_urls_accepted(url: str) -> None:
    assert webhook_url_problem(url, allow_loopback=False) is None


def test_loopback_only_when_the_setting_allows_it() -> None:
    for url in ("http://127.0.0.1:9000/hook", "https://localhost/hook"):
        assert webhook_url_problem(url, allow_loopback=True) is None
    for url in ("http://10.0.0.1/hook", "http://hooks.example.org/hook"):
        assert webhook_url_problem(url, allow_loopback=True) is not None


async def create_webhook(sharing: Sharing, **body: Any) -> Any:
    return await sharing.client.post(
        f"/agencies/{POLICE}/webhooks", json=body, headers=sharing.admin()
    )


async def test_a_webhook_endpoint_is_registered_with_a_secret_shown_once(sharing: Sharing) -> None:
    created = await create_webhook(
        sharing, url="https://hooks.example.org/casebridge", description="police RMS"
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["signing_secret"].startswith("whsec_")
    assert body["active"] is True
    listed = await sharing.client.get(f"/agencies/{POLICE}/webhooks", headers=sharing.admin())
    assert [w["id"] for w in listed.json()] == [body["id"]]
    assert body["signing_secret"] not in listed.text
    changed = await sharing.client.patch(
        f"/webhooks/{body['id']}", json={"active": False}, headers=sharing.admin()
    )
    assert changed.status_code == 200
    assert changed.json()["active"] is False
    assert changed.json()["url"] == "https://hooks.example.org/casebridge"


@pytest.mark.parametrize("url", ["https://10.0.0.5/hook", "http://hooks.example.org/hook"])
async def test_a_refused_url_writes_nothing(sharing: Sharing, url: str) -> None:
    response = await create_webhook(sharing, url=url)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == "url"
    async with sharing.sessions() as session:
        assert (await session.scalars(select(WebhookEndpoint))).all() == []


async def test_a_webhook_cannot_be_moved_to_a_private_address(sharing: Sharing) -> None:
    created = (await create_webhook(sharing, url="https://hooks.example.org/a")).json()
    moved = await sharing.client.patch(
        f"/webhooks/{created['id']}",
        json={"url": "https://169.254.169.254/"},
        headers=sharing.admin(),
    )
    assert moved.status_code == 422
    async with sharing.sessions() as session:
        row = await session.get(WebhookEndpoint, created["id"])
        assert row is not None
        assert row.url == "https://hooks.example.org/a"


async def test_loopback_webhooks_when_the_test_setting_allows(sharing: Sharing) -> None:
    sharing.app.state.settings = sharing.settings.model_copy(
        update={"webhook_allow_loopback": True}
    )
    response = await create_webhook(sharing, url="http://127.0.0.1:9999/receiver")
    assert response.status_code == 201, response.text


async def test_webhooks_of_another_area_are_not_found(sharing: Sharing) -> None:
    response = await sharing.client.post(
        f"/agencies/{OTHER_AGENCY}/webhooks",
        json={"url": "https://hooks.example.org/x"},
        headers=sharing.admin(),
    )
    assert response.status_code == 404
    created = (await create_webhook(sharing, url="https://hooks.example.org/a")).json()
    other = await sharing.client.patch(
        f"/webhooks/{created['id']}",
        json={"active": False},
        headers=sharing.admin(OTHER_AGENCY, area=OTHER_AREA),
    )
    assert other.status_code == 404


async def test_a_nats_user_password_works_on_a_real_nats_server(sharing: Sharing) -> None:
    created = await sharing.client.post(
        f"/agencies/{POLICE}/nats-users", json={"username": "police-rms"}, headers=sharing.admin()
    )
    assert created.status_code == 201, created.text
    password = created.json()["password"]
    async with sharing.sessions() as session:
        user = await session.scalar(select(NatsUser).where(NatsUser.username == "police-rms"))
    assert user is not None
    assert user.password_hash.startswith("$2a$11$")
    assert password not in user.password_hash
    assert bcrypt.checkpw(password.encode(), user.password_hash.encode())
    authorization = (
        "authorization { users = ["
        f" {{user: {json.dumps(user.username)}, password: {json.dumps(user.password_hash)}}} ] }}"
    )
    with server_dir("nats-auth") as path:
        server = NatsServer(path, port=free_port(), sync_always=False, extra_config=authorization)
        server.start()
        try:
            connection = await nats.connect(
                server.url, user="police-rms", password=password, max_reconnect_attempts=0
            )
            await connection.close()
            with pytest.raises((NoServersError, nats.errors.Error)):
                await nats.connect(
                    server.url,
                    user="police-rms",
                    password=password + "x",
                    max_reconnect_attempts=0,
                    allow_reconnect=False,
                )
        finally:
            server.stop()


async def test_nats_usernames_are_unique_and_users_revocable(sharing: Sharing) -> None:
    path = f"/agencies/{POLICE}/nats-users"
    first = await sharing.client.post(path, json={"username": "rms"}, headers=sharing.admin())
    again = await sharing.client.post(path, json={"username": "rms"}, headers=sharing.admin())
    bad = await sharing.client.post(path, json={"username": "R M S"}, headers=sharing.admin())
    assert [first.status_code, again.status_code, bad.status_code] == [201, 409, 422]
    listed = await sharing.client.get(path, headers=sharing.admin())
    assert first.json()["password"] not in listed.text
    user_id = first.json()["id"]
    assert (
        await sharing.client.delete(f"/nats-users/{user_id}", headers=sharing.admin())
    ).status_code == 204
    (row,) = (await sharing.client.get(path, headers=sharing.admin())).json()
    assert row["active"] is False
    assert row["revoked_at"] is not None
