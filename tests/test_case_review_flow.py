"""Issue 11 through the real services: complaints logged at intake's API reach review over
JetStream (intake's relay, review's durable consumer), and review's API counts them as the law
does: per behaviour, back-dated reports shown with their reason, and a link made at intake
waited for as a fact (not a sleep)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.devstack.seeds.review import demo_document
from casebridge.intake import worker as intake_worker
from casebridge.intake.main import create_app as create_intake
from casebridge.intake.settings import Settings as IntakeSettings
from casebridge.review import worker as review_worker
from casebridge.review.areas import ensure_config
from casebridge.review.main import create_app as create_review
from casebridge.review.settings import Settings as ReviewSettings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from casebridge.testing.tokens import TokenFactory
from tests.conftest import COMPLAINT, COUNCIL, FAST, in_process_worker, seed_intake_area

APPLICATION = {
    "applicant_kind": "victim",
    "applicant_name": "Ann Example",
    "applicant_contact": "020 7946 0018",
    "summary": "Three different problems near my home.",
}
PROBLEMS = [
    ("noise", "SW1A 1AA"),
    ("littering_drugs", "SW1A 2AA"),
    ("animal_problems", "SW1A 0AA"),
]


class Flow:
    def __init__(self, intake: httpx.AsyncClient, review: httpx.AsyncClient) -> None:
        self.intake, self.review = intake, review

    async def log(self, **changes: Any) -> dict[str, Any]:
        response = await self.intake.post("/complaints", json={**COMPLAINT, **changes})
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def counting(self, reference: str, **params: Any) -> httpx.Response:
        return await self.review.get(f"/reviews/{reference}/counting", params=params)


async def seed_review_area(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        await ensure_config(session, area_id=DEMO_AREA_ID, document=demo_document(), author="t")
        await session.flush()
    await engine.dispose()


@asynccontextmanager
async def running(
    migrated_database: MigratedDatabase, nats: NatsServer, tokens: TokenFactory
) -> AsyncIterator[Flow]:
    intake_db, review_db = await migrated_database("intake"), await migrated_database("review")
    await seed_intake_area(intake_db)
    await seed_review_area(review_db)
    intake = IntakeSettings(database_url=intake_db, nats_url=nats.url, **FAST)
    review = ReviewSettings(database_url=review_db, nats_url=nats.url, **FAST)

    def auth(settings: Any, scopes: list[str]) -> dict[str, str]:
        return tokens.headers(
            scopes=scopes,
            agency_id=COUNCIL,
            area_id=DEMO_AREA_ID,
            audience=settings.audience_or_default(),
        )

    async with (
        committed_client(create_intake, intake, tokens) as intake_client,
        committed_client(create_review, review, tokens) as review_client,
        in_process_worker(intake, intake_worker.consumers(intake)),
        in_process_worker(review, review_worker.consumers(review)),
    ):
        intake_client.headers.update(auth(intake, ["complaints:write", "complaints:read"]))
        review_client.headers.update(auth(review, ["reviews:read", "reviews:write"]))
        yield Flow(intake_client, review_client)


@pytest.fixture
async def flow(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tokens: TokenFactory
) -> AsyncIterator[Flow]:
    async with running(migrated_database, own_nats, tokens) as running_flow:
        yield running_flow


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def test_review_counts_what_the_law_counts_across_the_services(flow: Flow) -> None:
    # Three complaints by one person about three unrelated problems, one back-dated.
    first = await flow.log(asb_type=PROBLEMS[0][0], location={"postcode": PROBLEMS[0][1]})
    person = first["person_id"]
    complainant = {"person_id": person}
    backdated = await flow.log(
        complainant=complainant,
        asb_type=PROBLEMS[1][0],
        location={"postcode": PROBLEMS[1][1]},
        occurred_at=ago(4),
        reported_at=ago(3),
        backdated_reason="letter received on Friday",
    )
    await flow.log(
        complainant=complainant, asb_type=PROBLEMS[2][0], location={"postcode": PROBLEMS[2][1]}
    )
    # Review knows the victim once its consumer has indexed a complaint of theirs (404
    # until then): wait for that fact, not for the clock.
    answers: list[httpx.Response] = []

    async def applied_for() -> bool:
        answers.append(
            await flow.review.post("/reviews", json={**APPLICATION, "person_id": person})
        )
        return answers[-1].status_code != 404

    await poll(applied_for, what="review knows the victim")
    applied = answers[-1]
    assert applied.status_code == 201, applied.text
    reference = applied.json()["reference"]

    async def all_three_counted() -> bool:
        response = await flow.counting(reference)
        return response.status_code == 200 and len(response.json()["complaints"]) == 3

    await poll(all_three_counted)
    acknowledged = await flow.review.post(f"/reviews/{reference}/acknowledge")
    assert acknowledged.json()["state"] == "acknowledged"  # not met: three behaviours
    found = (await flow.counting(reference)).json()
    assert [b["qualifying_incidents"] for b in found["behaviours"]] == [1, 1, 1]
    shown = {c["reference"]: c for c in found["complaints"]}
    assert shown[backdated["reference"]]["backdated_reason"] == "letter received on Friday"

    # Two more noise complaints, one linked at intake as the same incident as the first:
    # the client waits until review has applied the link, then reads the count.
    second = await flow.log(complainant=complainant, asb_type="noise")
    third = await flow.log(complainant=complainant, asb_type="noise")
    linked = await flow.intake.post(
        f"/complaints/{third['id']}/link", json={"complaint_id": second["id"]}
    )
    assert linked.status_code == 200, linked.text
    listed = [first["id"], second["id"], third["id"]]
    params = {"not_older_than": linked.json()["updated_at"], "complaint_id": [third["id"]]}

    async def link_applied() -> bool:
        return (await flow.counting(reference, **params)).status_code == 200

    await poll(link_applied)
    noise = await flow.review.post(
        "/reviews", json={**APPLICATION, "person_id": person, "complaint_ids": listed}
    )
    counted = (await flow.counting(noise.json()["reference"])).json()
    reasons = {c["complaint_id"]: c["reason"] for c in counted["complaints"]}
    assert reasons == {
        first["id"]: "counted",
        second["id"]: "counted",
        third["id"]: "same_incident",
    }
    assert counted["met"] is False  # two incidents, not three
