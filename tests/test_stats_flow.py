"""The published Case Review figures through the real services: complaints logged at intake,
reviews run at review's API (one carried out with recommendations, one refused by the
panel), every event over JetStream to stats' real worker, and the figures read from stats'
API and its public page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.common.isp import parse
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.intake import worker as intake_worker
from casebridge.intake.main import create_app as create_intake
from casebridge.intake.settings import Settings as IntakeSettings
from casebridge.review import worker as review_worker
from casebridge.review.main import create_app as create_review
from casebridge.review.models import PartnerAgency, ProtocolVersion
from casebridge.review.settings import Settings as ReviewSettings
from casebridge.stats import worker as stats_worker
from casebridge.stats.main import create_app as create_stats
from casebridge.stats.periods import financial_year, local_date
from casebridge.stats.settings import Settings as StatsSettings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from casebridge.testing.tokens import TokenFactory
from tests.conftest import COMPLAINT, COUNCIL, FAST, in_process_worker, seed_intake_area
from tests.test_case_review_flow import APPLICATION, seed_review_area

POLICE, _ = DEMO_AGENCIES["police"]
HOUSING, _ = DEMO_AGENCIES["housing"]


async def seed_review_registry(url: str) -> None:
    """Review's replica of the partner registry and the protocol (the sharing service sends
    them in production): the core partners may then see the review they vote on."""
    text = files("casebridge.common.isp").joinpath("default.yaml").read_text()
    agencies = [
        {"id": agency_id, "area_id": DEMO_AREA_ID, "name": name, "kind": kind,
         "core_partner": True}
        for kind, (agency_id, name) in DEMO_AGENCIES.items()
    ]  # fmt: skip
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.execute(insert(PartnerAgency).values(agencies).on_conflict_do_nothing())
        await conn.execute(
            insert(ProtocolVersion).values(
                area_id=DEMO_AREA_ID, version=1, published_at=datetime.now(UTC),
                document=parse(text).model_dump(mode="json"),
            )
        )  # fmt: skip
    await engine.dispose()


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def test_case_reviews_run_at_review_are_published_by_stats(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tokens: TokenFactory
) -> None:
    intake_db, review_db = await migrated_database("intake"), await migrated_database("review")
    stats_db = await migrated_database("stats")
    await seed_intake_area(intake_db)
    await seed_review_area(review_db)
    await seed_review_registry(review_db)
    intake = IntakeSettings(database_url=intake_db, nats_url=own_nats.url, **FAST)
    review = ReviewSettings(
        database_url=review_db, nats_url=own_nats.url, protocol_cache_seconds=0, **FAST
    )
    stats = StatsSettings(database_url=stats_db, nats_url=own_nats.url, **FAST)

    def auth(settings: Any, scopes: list[str], agency: uuid.UUID = COUNCIL) -> dict[str, str]:
        return tokens.headers(
            scopes=scopes, agency_id=agency, area_id=DEMO_AREA_ID,
            audience=settings.audience_or_default(),
        )  # fmt: skip

    async with (
        committed_client(create_intake, intake, tokens) as intake_api,
        committed_client(create_review, review, tokens) as review_api,
        committed_client(create_stats, stats, tokens) as stats_api,
        in_process_worker(intake, intake_worker.consumers(intake)),
        in_process_worker(review, review_worker.consumers(review)),
        in_process_worker(stats, stats_worker.consumers(stats)),
    ):
        intake_api.headers.update(auth(intake, ["complaints:write", "complaints:read"]))
        review_api.headers.update(auth(review, ["reviews:read", "reviews:write"]))
        stats_api.headers.update(auth(stats, ["stats:read"]))

        async def log(days_ago: float, **changes: Any) -> dict[str, Any]:
            body = {**COMPLAINT, "occurred_at": ago(days_ago), **changes}
            response = await intake_api.post("/complaints", json=body)
            assert response.status_code == 201, response.text
            return dict(response.json())

        # Three noise complaints by one victim, separate incidents: the statutory threshold.
        first = await log(6)
        victim = {"person_id": first["person_id"]}
        listed = [first["id"], (await log(4, complainant=victim))["id"]]
        listed.append((await log(2, complainant=victim))["id"])
        lone = await log(
            3, complainant={"details": {"name": "Bob Other", "phone": "020 7946 0999"}}
        )

        async def indexed() -> bool:
            found = await review_api.post(
                "/reviews", json={**APPLICATION, "person_id": victim["person_id"],
                                  "complaint_ids": listed},
            )  # fmt: skip
            if found.status_code == 201:
                indexed.reference = found.json()["reference"]  # type: ignore[attr-defined]
            return found.status_code == 201

        await poll(indexed, what="review knows the complaints")
        carried_out = indexed.reference  # type: ignore[attr-defined]
        steps: list[tuple[str, dict[str, Any] | None]] = [
            ("acknowledge", None),
            ("meeting", {"meeting_at": ago(1)}),  # held since; recorded now
            ("meeting/held", {"minutes": "Partners shared what they did."}),
            ("action-plan", {
                "lead_agency_id": str(COUNCIL), "recommendations": ["Noise monitoring"],
                "actions": [{"agency_id": str(POLICE), "description": "Patrols",
                             "due_on": ago(-30)[:10]}],
                "victim_consulted": True,
            }),
        ]  # fmt: skip
        for step, body in steps:
            response = await review_api.post(f"/reviews/{carried_out}/{step}", json=body)
            assert response.status_code == 200, (step, response.text)

        refused = await review_api.post(
            "/reviews",
            json={**APPLICATION, "person_id": lone["person_id"], "complaint_ids": [lone["id"]]},
        )
        assert refused.status_code == 201, refused.text
        reference = refused.json()["reference"]
        assert (await review_api.post(f"/reviews/{reference}/acknowledge")).status_code == 200
        for agency in (POLICE, HOUSING):
            vote = await review_api.post(
                f"/reviews/{reference}/votes",
                json={"met": False, "reason": "one complaint only"},
                headers=auth(review, ["reviews:read", "reviews:write", "reviews:panel"], agency),
            )
            assert vote.status_code == 200, vote.text
        assert vote.json()["state"] == "threshold_not_met"

        year = financial_year(local_date(datetime.now(UTC)))
        expected = {
            "applications": 2,
            "threshold_not_met": 1,
            "reviews_carried_out": 1,
            "reviews_with_recommendations": 1,
        }

        async def published() -> bool:
            rows = (await stats_api.get("/stats/case-reviews")).json()["rows"]
            current = next(r for r in rows if r["period"] == year.label)
            return {k: current[k] for k in expected} == expected

        await poll(published, what="stats counted the reviews")
        complaints = (await stats_api.get("/stats/complaints")).json()
        assert complaints["total"] == 4
        assert complaints["by_postcode_district"] == {"SW1A": 4}
        page = await stats_api.get("/public/DMO/case-reviews")
        assert page.status_code == 200
        assert f'data-period="{year.label}" data-measure="reviews_carried_out">1<' in page.text
        assert "Ann Example" not in page.text
