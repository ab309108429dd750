"""Webhooks (Standard Webhooks): a delivery to an agency with an endpoint is posted to a real
receiver on loopback, signed so `standardwebhooks` verifies it, under one webhook-id on every
attempt; failures are retried, the last one dead-letters the message with its reason, the
partner sees and re-drives its own dead letters; redirects are failures, and addresses
webhooks may not reach are refused when the connection is made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from casebridge.common.db import new_id, utcnow
from casebridge.sharing import webhook_sender, webhooks
from casebridge.sharing.endpoints import host_allowed
from casebridge.sharing.models import Delivery, WebhookAttempt, WebhookMessage
from casebridge.sharing.settings import Settings
from casebridge.testing.webhooks import Receiver, webhook_receiver

from .conftest import COUNCIL, HOUSING, POLICE, Sharing, complaint_logged
from .test_handlers import apply

MAX_ATTEMPTS = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Receivers on loopback; retries due at once, the third failure dead-letters."""
    return settings.model_copy(
        update={
            "webhook_allow_loopback": True,
            "webhook_backoff_base_seconds": 0.0,
            "webhook_max_attempts": MAX_ATTEMPTS,
            "webhook_timeout_seconds": 5.0,
        }
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with webhook_sender.new_client(
        allow_loopback=True, connect_timeout=5.0, timeout=5.0
    ) as client:
        yield client


async def register(sharing: Sharing, url: str, agency: UUID = POLICE) -> str:
    """The police's endpoint, registered by the administrator; its signing secret."""
    response = await sharing.client.post(
        f"/agencies/{agency}/webhooks", json={"url": url}, headers=sharing.admin()
    )
    assert response.status_code == 201, response.text
    return str(response.json()["signing_secret"])


async def log_complaint(sharing: Sharing) -> None:
    values = {"complaint_id": new_id(), "reference": f"DMO-2026-{new_id().hex[-6:]}-1"}
    envelope, event = complaint_logged(receiving=COUNCIL, **values)
    assert await apply(sharing, envelope, event)


async def dispatch(sharing: Sharing, client: httpx.AsyncClient, times: int = 1) -> None:
    for _ in range(times):
        assert await webhooks.dispatch_once(sharing.sessions, client, sharing.settings) > 0


async def the_message(sharing: Sharing) -> WebhookMessage:
    async with sharing.sessions() as session:
        (message,) = (await session.scalars(select(WebhookMessage))).all()
        return message


async def test_a_delivery_is_posted_signed_to_the_partners_endpoint(
    protocol_v1: Sharing, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    sharing = protocol_v1
    secret = await register(sharing, receiver.url)
    await log_complaint(sharing)
    message = await the_message(sharing)
    assert message.agency_id == POLICE  # the housing provider has no endpoint
    await dispatch(sharing, client)
    (request,) = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == str(message.id)
    async with sharing.sessions() as session:
        delivery = await session.get(Delivery, message.delivery_id)
    assert delivery is not None
    assert payload["type"] == delivery.event_type
    assert payload["data"] == delivery.data
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(request.body.replace(b"phone", b"email"), request.headers)
    message = await the_message(sharing)
    assert (message.state, message.attempts, message.last_status) == ("delivered", 1, 200)
    assert await webhooks.dispatch_once(sharing.sessions, client, sharing.settings) == 0


async def test_failures_are_retried_under_one_webhook_id_then_delivered(
    protocol_v1: Sharing, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    sharing = protocol_v1
    secret = await register(sharing, receiver.url)
    await log_complaint(sharing)
    receiver.answers = [500, 503]
    await dispatch(sharing, client, times=3)
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    message = await the_message(sharing)
    assert (message.state, message.attempts) == ("delivered", 3)
    async with sharing.sessions() as session:
        attempts = (
            await session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt))
        ).all()
    assert [(a.attempt, a.status_code, a.succeeded) for a in attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]


def test_backoff_is_exponential_up_to_its_cap(settings: Settings) -> None:
    schedule = settings.model_copy(
        update={"webhook_backoff_base_seconds": 5.0, "webhook_backoff_max_seconds": 60.0}
    )
    delays = [webhooks.backoff(schedule, k).total_seconds() for k in range(1, 6)]
    assert delays == [5, 10, 20, 40, 60]


async def test_dead_letter_after_the_last_attempt_seen_and_redriven_by_its_partner(
    protocol_v1: Sharing, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    sharing = protocol_v1
    await register(sharing, receiver.url)
    await log_complaint(sharing)
    receiver.answers = [500] * MAX_ATTEMPTS
    await dispatch(sharing, client, times=MAX_ATTEMPTS)
    assert await webhooks.dispatch_once(sharing.sessions, client, sharing.settings) == 0
    message = await the_message(sharing)
    assert (message.state, message.attempts, message.last_status) == ("dead", 3, 500)
    assert message.last_error == "HTTP 500"

    police = sharing.auth(POLICE)
    listed = await sharing.client.get("/webhook-dead-letters", headers=police)
    assert listed.status_code == 200, listed.text
    (dead,) = listed.json()["items"]
    assert (dead["id"], dead["last_error"], dead["attempts"]) == (str(message.id), "HTTP 500", 3)
    tried = await sharing.client.get(f"/webhook-messages/{message.id}/attempts", headers=police)
    assert [a["status_code"] for a in tried.json()] == [500, 500, 500]
    housing = sharing.auth(HOUSING)
    assert (await sharing.client.get("/webhook-dead-letters", headers=housing)).json()[
        "items"
    ] == []
    redrive = f"/webhook-dead-letters/{message.id}/redrive"
    assert (await sharing.client.post(redrive, headers=housing)).status_code == 404

    again = await sharing.client.post(redrive, headers=police)
    assert again.status_code == 202, again.text
    assert (again.json()["state"], again.json()["attempts"]) == ("pending", 0)
    await dispatch(sharing, client)
    assert receiver.requests[-1].headers["webhook-id"] == str(message.id)
    assert (await the_message(sharing)).state == "delivered"
    conflict = await sharing.client.post(redrive, headers=police)
    assert (conflict.status_code, conflict.json()["error"]) == (409, "not_dead_lettered")


async def test_a_redirect_is_a_failure_and_is_not_followed(
    protocol_v1: Sharing, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    sharing = protocol_v1
    await register(sharing, receiver.url)
    await log_complaint(sharing)
    receiver.answers = [307]
    await dispatch(sharing, client)
    assert [r.path for r in receiver.requests] == ["/hook"]  # never /elsewhere
    message = await the_message(sharing)
    assert (message.state, message.last_status) == ("pending", 307)
    assert message.last_error == "HTTP 307: redirects are not followed"


async def test_a_dispatcher_that_dies_after_claiming_leaves_it_to_another(
    protocol_v1: Sharing, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    """The claim commits, the POST's outcome is never recorded: once the lease runs out the
    message is posted again under the same webhook-id, and delivered once recorded."""
    sharing = protocol_v1
    await register(sharing, receiver.url)
    await log_complaint(sharing)
    lease = sharing.settings.model_copy(update={"webhook_lease_seconds": 0.001})
    async with sharing.sessions() as session, session.begin():
        (job,) = await webhooks.claim(
            session, now=utcnow(), lease=timedelta(seconds=0.001), limit=10
        )
    await webhooks.dispatch_once(sharing.sessions, client, lease)
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == str(job.message_id)
    message = await the_message(sharing)
    assert (message.state, message.attempts) == ("delivered", 2)


# ---- SSRF at send time (API7) -----------------------------------------------------------
def resolving_to(address: str) -> webhook_sender.Resolver:
    """DNS (outside Casebridge) answering every name with one address."""

    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.0.0.1", "private"),
        ("192.168.1.20", "private"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
async def test_a_name_resolving_to_a_refused_address_is_not_connected_to(
    address: str, problem: str
) -> None:
    async with webhook_sender.new_client(
        allow_loopback=False, connect_timeout=1.0, timeout=1.0, resolve=resolving_to(address)
    ) as client:
        outcome = await webhook_sender.post(
            client,
            url="https://hooks.example.org/casebridge",
            body=b"{}",
            headers={},
            allow_loopback=False,
        )
    assert not outcome.succeeded
    assert outcome.status_code is None
    assert outcome.error is not None
    assert "refused" in outcome.error
    assert problem in outcome.error


async def test_an_endpoint_on_loopback_is_refused_when_loopback_is_not_allowed(
    protocol_v1: Sharing, receiver: Receiver
) -> None:
    """Registered while the setting allowed it; the sender checks again and refuses."""
    sharing = protocol_v1
    await register(sharing, receiver.url)
    await log_complaint(sharing)
    strict = sharing.settings.model_copy(update={"webhook_allow_loopback": False})
    async with webhook_sender.new_client(
        allow_loopback=False, connect_timeout=1.0, timeout=1.0
    ) as client:
        await webhooks.dispatch_once(sharing.sessions, client, strict)
    assert receiver.requests == []
    message = await the_message(sharing)
    assert message.last_error is not None
    assert message.last_error.startswith("refused")


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/x", "https://169.254.169.254/latest", "https://10.0.0.1/x"]
)
async def test_refused_addresses_cannot_be_registered(sharing: Sharing, url: str) -> None:
    strict = sharing.settings.model_copy(update={"webhook_allow_loopback": False})
    sharing.app.state.settings = strict
    response = await sharing.client.post(
        f"/agencies/{POLICE}/webhooks", json={"url": url}, headers=sharing.admin()
    )
    assert response.status_code == 422, response.text


def test_the_allow_list_names_hosts_or_their_suffixes() -> None:
    allowed = ["hooks.police.example", ".nhs.uk"]
    for url in ("https://hooks.police.example/x", "https://api.trust.nhs.uk/hook"):
        assert host_allowed(url, allowed)
    for url in ("https://evil.example/x", "https://hooks.police.example.evil.example/x",
                "https://nhs.uk.evil.example/x", "https://police.example/x"):  # fmt: skip
        assert not host_allowed(url, allowed)
    assert host_allowed("https://anything.example/x", [])


async def test_a_host_off_the_allow_list_is_refused_at_registration_and_at_send(
    protocol_v1: Sharing, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    sharing = protocol_v1
    listed = sharing.settings.model_copy(update={"webhook_allowed_hosts": ["hooks.police.example"]})
    sharing.app.state.settings = listed
    refused = await sharing.client.post(
        f"/agencies/{POLICE}/webhooks", json={"url": receiver.url}, headers=sharing.admin()
    )
    assert refused.status_code == 422
    assert "allow-list" in refused.text
    sharing.app.state.settings = sharing.settings
    await register(sharing, receiver.url)  # registered before the list was tightened
    await log_complaint(sharing)
    await webhooks.dispatch_once(sharing.sessions, client, listed)
    assert receiver.requests == []
    message = await the_message(sharing)
    assert message.last_error == "refused: the host is not on the webhook allow-list"
