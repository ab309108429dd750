"""Issue 10's "done means" for the webhook and the answer, through the real services and
their workers (the sharing worker with its webhook dispatcher).

A new partner is registered through sharing's admin API with a client and a webhook
endpoint (a real receiver on loopback); a protocol version grants it two fields of
complaints; a call handler logs a complaint and the receiver gets exactly those two fields,
signed so `standardwebhooks` verifies them. The partner answers with an update; the call
handler sees it in the log's timeline at intake; the DPO's disclosure export lists both
flows (the complaint to the partner, the partner's update to the council)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from standardwebhooks import Webhook

from casebridge.common.settings import BaseServiceSettings
from casebridge.common.worker import PeriodicJob, run_worker
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.devstack.seeds import sharing as sharing_seed
from casebridge.intake import worker as intake_worker
from casebridge.intake.main import create_app as create_intake
from casebridge.intake.settings import Settings as IntakeSettings
from casebridge.review.main import create_app as create_review
from casebridge.review.settings import Settings as ReviewSettings
from casebridge.sharing import webhooks
from casebridge.sharing import worker as sharing_worker
from casebridge.sharing.main import create_app as create_sharing
from casebridge.sharing.settings import Settings as SharingSettings
from casebridge.testing.harness import running
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from casebridge.testing.webhooks import Receiver, webhook_receiver
from tests.conftest import COMPLAINT, FAST, seed_intake_area
from tests.test_case_review_flow import seed_review_area
from tests.test_protocol_flow import (
    TWO_FIELDS,
    Partnership,
    _as_app_role,
    grant_two_fields,
    trust_sharing,
    urn,
)

METADATA = {"disclosure_id", "protocol_version", "purposes", "redacted_fields"}
COUNCIL, _ = DEMO_AGENCIES["council"]


@asynccontextmanager
async def worker(
    settings: BaseServiceSettings, consumers: list[Any], jobs: list[PeriodicJob] | None = None
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, consumers, jobs=jobs or [], stop=stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


@asynccontextmanager
async def partnership(
    migrated_database: MigratedDatabase, nats: NatsServer, data_dir: Path
) -> AsyncIterator[Partnership]:
    """Sharing (its worker posting webhooks to loopback), intake and their workers."""
    sharing_owner = await migrated_database("sharing")
    intake_db, review_db = await migrated_database("intake"), await migrated_database("review")
    await seed_intake_area(intake_db)
    await seed_review_area(review_db)
    common = {**FAST, "nats_url": nats.url, "protocol_cache_seconds": 0}
    sharing = SharingSettings(
        database_url=_as_app_role(sharing_owner),
        migration_database_url=sharing_owner,
        signing_key_file=data_dir / "signing-key.json",
        data_dir=data_dir,
        webhook_allow_loopback=True,
        webhook_backoff_base_seconds=0.1,
        **common,
    )
    intake = IntakeSettings(database_url=intake_db, **common)
    review = ReviewSettings(database_url=review_db, **common)
    entries = await sharing_seed.seed(sharing.model_copy(update={"database_url": sharing_owner}))
    async with AsyncExitStack() as stack:
        sharing_app, intake_app = create_sharing(sharing), create_intake(intake)
        review_app = create_review(review)
        clients = [
            await stack.enter_async_context(running(app))
            for app in (sharing_app, intake_app, review_app)
        ]
        for app, settings in ((intake_app, intake), (sharing_app, sharing)):
            trust_sharing(app, sharing_app, settings, sharing.issuer_url)
        await stack.enter_async_context(
            worker(sharing, sharing_worker.consumers(sharing), [webhooks.dispatcher(sharing)])
        )
        await stack.enter_async_context(worker(intake, intake_worker.consumers(intake)))
        yield Partnership(*clients, {e["client_id"]: e for e in entries})


async def test_a_new_partner_gets_its_two_fields_by_webhook_and_answers_into_the_timeline(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tmp_path: Path
) -> None:
    async with (
        partnership(migrated_database, own_nats, tmp_path) as p,
        webhook_receiver() as receiver,
    ):
        admin = await p.as_demo("admin", "sharing")
        trust_id, trust, secret = await _register_the_trust(p, admin, receiver)
        await grant_two_fields(p, admin, trust_id)

        council = await p.as_demo("council", "intake")
        logged = await p.intake.post("/complaints", json=COMPLAINT, headers=council)
        assert logged.status_code == 201, logged.text
        complaint = logged.json()
        await _the_webhook_carries_exactly_two_fields(receiver, secret, complaint)

        as_trust = await p.token(trust["client_id"], trust["client_secret"], urn("sharing"))
        answered = await p.sharing.post(
            f"/cases/{complaint['reference']}/updates",
            json={
                "action": "safeguarding_referral",
                "note": "Referred to the community mental health team",
                "outcome": "in_progress",
                "next_step": "Assessment visit",
                "due_on": (date.today() + timedelta(days=7)).isoformat(),
            },
            headers=as_trust,
        )
        assert answered.status_code == 201, answered.text
        await _the_call_handler_sees_it_in_the_timeline(p, council, complaint, trust_id)
        await _the_dpo_export_lists_both_flows(p, complaint["reference"], trust_id)


async def _register_the_trust(
    p: Partnership, admin: dict[str, str], receiver: Receiver
) -> tuple[UUID, dict[str, Any], str]:
    registered = await p.sharing.post(
        f"/areas/{DEMO_AREA_ID}/agencies",
        json={"name": "Demo Mental Health Trust", "kind": "health"},
        headers=admin,
    )
    assert registered.status_code == 201, registered.text
    trust_id = UUID(registered.json()["id"])
    created = await p.sharing.post(
        f"/agencies/{trust_id}/clients",
        json={"scopes": ["shares:read", "cases:write"], "roles": ["case_officer"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    hook = await p.sharing.post(
        f"/agencies/{trust_id}/webhooks", json={"url": receiver.url}, headers=admin
    )
    assert hook.status_code == 201, hook.text
    return trust_id, created.json(), str(hook.json()["signing_secret"])


async def _the_webhook_carries_exactly_two_fields(
    receiver: Receiver, secret: str, complaint: dict[str, Any]
) -> None:
    await poll(lambda: bool(receiver.requests), timeout=30, what="the trust's webhook")
    (request,) = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "sharing.delivery.complaint.logged.v1"
    data = payload["data"]
    assert set(data) == set(TWO_FIELDS) | METADATA
    assert {k: data[k] for k in TWO_FIELDS} == {k: complaint[k] for k in TWO_FIELDS}
    assert data["protocol_version"] == 2
    assert json.loads(request.body)["data"] == data


async def _the_call_handler_sees_it_in_the_timeline(
    p: Partnership, council: dict[str, str], complaint: dict[str, Any], trust_id: UUID
) -> None:
    url = f"/people/{complaint['person_id']}/timeline"

    async def answered() -> list[dict[str, Any]]:
        response = await p.intake.get(url, headers=council)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return [i for i in items if i["kind"] == "partner_update.recorded"]

    await poll(answered, timeout=30, what="the trust's update in the call handler's timeline")
    (update,) = await answered()
    assert update["data"]["agency_id"] == str(trust_id)
    assert update["data"]["action"] == "safeguarding_referral"
    assert "note" not in update["data"]  # the default protocol keeps notes with the partner
    kinds = [i["kind"] for i in (await p.intake.get(url, headers=council)).json()["items"]]
    assert kinds == ["complaint.logged", "partner_update.recorded"]


async def _the_dpo_export_lists_both_flows(p: Partnership, reference: str, trust_id: UUID) -> None:
    dpo = await p.as_demo("council-dpo", "sharing")

    async def rows() -> list[dict[str, str]]:
        export = await p.sharing.get(
            "/audit/disclosures", params={"format": "csv", "reference": reference}, headers=dpo
        )
        assert export.status_code == 200, export.text
        return list(csv.DictReader(io.StringIO(export.text)))

    def flow(found: list[dict[str, str]], event_type: str, recipient: UUID) -> list[Any]:
        return [
            r
            for r in found
            if r["source_event_type"] == event_type and r["recipient_agency_id"] == str(recipient)
        ]

    async def both() -> bool:
        found = await rows()
        return bool(flow(found, "sharing.partner_update.recorded.v1", COUNCIL))

    await poll(both, timeout=30, what="the update's disclosure to the council")
    found = await rows()
    (to_trust,) = flow(found, "intake.complaint.logged.v1", trust_id)
    assert sorted(to_trust["fields"].split()) == sorted(TWO_FIELDS)
    assert to_trust["protocol_version"] == "2"
    (to_council,) = flow(found, "sharing.partner_update.recorded.v1", COUNCIL)
    assert to_council["outcome"] == "delivered"
    assert "note" not in to_council["fields"].split()
