"""NATS locked per agency, on a real nats-server whose authorization the sharing worker's
job writes from the registry and reloads: an agency's credentials read its own subjects
(core and through its own durable consumer on SHARE), never another agency's, and publish
nothing on share.>; a revoked user is locked out after the next reload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from casebridge.common.events.streams import ensure_streams
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing import nats_auth
from casebridge.testing.plugin import started_nats
from casebridge.testing.poll import poll

from .conftest import COUNCIL, POLICE, Sharing


@pytest.fixture
def locked_nats() -> Iterator[NatsServer]:
    """A locked nats-server of this test's own (it rewrites the authorization file)."""
    with started_nats() as server:
        yield server


@dataclass
class Partner:
    user: str
    password: str
    agency: UUID
    errors: list[str]

    async def connect(self, server: NatsServer, **options: Any) -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc).lower())

        return await nats.connect(
            server.address,
            user=self.user,
            password=self.password,
            inbox_prefix=nats_auth.inbox_prefix(self.user),
            error_cb=on_error,
            max_reconnect_attempts=0,
            allow_reconnect=False,
            **options,
        )

    def violated(self) -> bool:
        return any("permissions violation" in e for e in self.errors)


async def nats_user(sharing: Sharing, agency: UUID, username: str) -> Partner:
    created = await sharing.client.post(
        f"/agencies/{agency}/nats-users", json={"username": username}, headers=sharing.admin()
    )
    assert created.status_code == 201, created.text
    return Partner(username, created.json()["password"], agency, [])


async def refresh(sharing: Sharing, server: NatsServer) -> None:
    """What the worker's job does every few seconds: rewrite from the registry, reload."""
    assert server.authorization_file is not None
    services = nats_auth.service_logins(server.authorization_file.with_name("service-logins.json"))
    await nats_auth.refresh(
        sharing.sessions,
        path=server.authorization_file,
        services=services,
        pid_file=server.pid_file,
    )


async def can_connect(server: NatsServer, partner: Partner) -> bool:
    try:
        connection = await partner.connect(server)
    except (nats.errors.Error, OSError):
        return False
    await connection.close()
    return True


def subject(agency: UUID, event: str = "complaint.logged.v1") -> str:
    return f"share.{DEMO_AREA_ID}.{agency}.{event}"


async def test_an_agency_reads_its_own_subjects_and_nothing_else(
    sharing: Sharing, locked_nats: NatsServer
) -> None:
    server = locked_nats
    police = await nats_user(sharing, POLICE, "police-rms")
    council = await nats_user(sharing, COUNCIL, "council-cms")
    assert not await can_connect(server, police)  # not in the server's authorization yet
    await refresh(sharing, server)
    await poll(lambda: can_connect(server, police), timeout=10)
    await poll(lambda: can_connect(server, council), timeout=10)
    service = await nats.connect(server.url)
    js = service.jetstream()
    await ensure_streams(js)
    await js.publish(subject(POLICE), b'{"for": "police"}')
    await js.publish(subject(COUNCIL), b'{"for": "council"}')

    connection = await police.connect(server)
    pjs = connection.jetstream()
    own = await pjs.pull_subscribe(
        nats_auth.agency_subjects(DEMO_AREA_ID, POLICE), durable=police.user, stream="SHARE"
    )
    (message,) = await own.fetch(1, timeout=5)
    assert json.loads(message.data) == {"for": "police"}
    await message.ack()
    assert not police.violated()

    # Another agency's subjects: a core subscription is refused by the server.
    seen: list[bytes] = []

    async def keep(message: Any) -> None:
        seen.append(message.data)

    await connection.subscribe(subject(COUNCIL), cb=keep)
    await poll(police.violated, timeout=5)
    await service.publish(subject(COUNCIL), b"core")
    await service.flush()
    # Another consumer on SHARE, or its own durable with another agency's filter: refused.
    wide = ConsumerConfig(durable_name=police.user, filter_subject=f"share.{DEMO_AREA_ID}.>")
    with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
        await pjs.add_consumer("SHARE", config=wide, timeout=1)
    theirs = ConsumerConfig(durable_name="council-cms", filter_subject=subject(COUNCIL))
    with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
        await pjs.add_consumer("SHARE", config=theirs, timeout=1)
    # The permitted subject with another filter in the body: the server checks they match.
    own_filter = nats_auth.agency_subjects(DEMO_AREA_ID, POLICE)
    reply = await connection.request(
        f"$JS.API.CONSUMER.CREATE.SHARE.{police.user}.{own_filter}",
        json.dumps(
            {"stream_name": "SHARE", "config": {**wide.as_dict(), "ack_policy": "explicit"}}
        ).encode(),
        timeout=2,
    )
    assert "error" in json.loads(reply.data)
    # Another agency's inboxes (its fetched messages go there): refused.
    police.errors.clear()
    await connection.subscribe("_INBOX.council-cms.>")
    await poll(police.violated, timeout=5)
    # Publishing a delivery, even to itself: refused, and nothing reaches the stream.
    police.errors.clear()
    await connection.publish(subject(POLICE, "forged.v1"), b"forged")
    await connection.flush()
    await poll(police.violated, timeout=5)
    info = await js.stream_info("SHARE")
    assert info.state.messages == 3  # the two deliveries and the service's core message
    with pytest.raises(nats.js.errors.NotFoundError):
        await js.get_last_msg("SHARE", subject(POLICE, "forged.v1"))
    assert seen == []
    await connection.close()
    await service.close()


async def test_a_revoked_user_is_locked_out_after_the_reload(
    sharing: Sharing, locked_nats: NatsServer
) -> None:
    server = locked_nats
    police = await nats_user(sharing, POLICE, "police-gone")
    await refresh(sharing, server)
    await poll(lambda: can_connect(server, police), timeout=10)
    listed = await sharing.client.get(f"/agencies/{POLICE}/nats-users", headers=sharing.admin())
    (row,) = [u for u in listed.json() if u["username"] == police.user]
    revoked = await sharing.client.delete(f"/nats-users/{row['id']}", headers=sharing.admin())
    assert revoked.status_code == 204
    await refresh(sharing, server)
    await poll(lambda: locked_out(server, police), timeout=10)


async def locked_out(server: NatsServer, partner: Partner) -> bool:
    return not await can_connect(server, partner)
