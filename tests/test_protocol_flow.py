"""Issue 9's "done means", through the real services and their workers.

An administrator registers a new agency through sharing's admin API and creates its client;
publishes a protocol version that grants it two fields of complaints; from then on that
agency, with a token from sharing's own token endpoint, reads exactly those two fields
through every read route of intake (the version reaches intake over the REGISTRY stream),
nothing of review's, receives exactly those two fields in sharing's deliveries, and the
DPO's disclosure export names the version that allowed each disclosure."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import yaml
from fastapi import FastAPI
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.engine import make_url

from casebridge.common.auth import TokenVerifier
from casebridge.common.settings import IssuerConfig
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.devstack.seeds import sharing as sharing_seed
from casebridge.intake import worker as intake_worker
from casebridge.intake.main import create_app as create_intake
from casebridge.intake.settings import Settings as IntakeSettings
from casebridge.review import worker as review_worker
from casebridge.review.main import create_app as create_review
from casebridge.review.settings import Settings as ReviewSettings
from casebridge.sharing import worker as sharing_worker
from casebridge.sharing.main import create_app as create_sharing
from casebridge.sharing.settings import Settings as SharingSettings
from casebridge.stats import worker as stats_worker
from casebridge.stats.main import create_app as create_stats
from casebridge.stats.settings import Settings as StatsSettings
from casebridge.testing.harness import running
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from tests.conftest import COMPLAINT, FAST, in_process_worker, seed_intake_area
from tests.test_case_review_flow import seed_review_area

TWO_FIELDS = ["reference", "asb_type"]


@dataclass
class Partnership:
    sharing: httpx.AsyncClient
    intake: httpx.AsyncClient
    review: httpx.AsyncClient
    clients: dict[str, dict[str, Any]]
    stats: httpx.AsyncClient | None = None  # the partnership below runs stats too

    async def token(self, client_id: str, secret: str, resource: str) -> dict[str, str]:
        response = await self.sharing.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "resource": resource},
            auth=(client_id, secret),
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def as_demo(self, kind: str, service: str) -> dict[str, str]:
        client = self.clients[f"demo-{kind}"]
        return await self.token(client["client_id"], client["client_secret"], urn(service))


def urn(service: str) -> str:
    return f"urn:casebridge:{service}"


def trust_sharing(app: FastAPI, sharing_app: FastAPI, settings: Any, issuer: str) -> None:
    """The resource server trusts sharing's signing key, as it would from sharing's JWKS."""
    key = RSAKey.import_key(sharing_app.state.signing_key.as_dict(private=False))
    app.state.token_verifier = TokenVerifier(
        issuers=[IssuerConfig(issuer=issuer, jwks_uri="http://jwks.invalid/")],
        audience=settings.audience_or_default(),
        static_keys={issuer: KeySet([key])},
    )


@asynccontextmanager
async def partnership(
    migrated_database: MigratedDatabase, nats: NatsServer, data_dir: Path
) -> AsyncIterator[Partnership]:
    sharing_owner = await migrated_database("sharing")
    intake_db, review_db = await migrated_database("intake"), await migrated_database("review")
    stats_db = await migrated_database("stats")
    await seed_intake_area(intake_db)
    await seed_review_area(review_db)
    common = {**FAST, "nats_url": nats.url, "protocol_cache_seconds": 0}
    sharing = SharingSettings(
        database_url=_as_app_role(sharing_owner),
        migration_database_url=sharing_owner,
        signing_key_file=data_dir / "signing-key.json",
        data_dir=data_dir,
        **common,
    )
    intake = IntakeSettings(database_url=intake_db, **common)
    review = ReviewSettings(database_url=review_db, **common)
    stats = StatsSettings(database_url=stats_db, **common)
    entries = await sharing_seed.seed(sharing.model_copy(update={"database_url": sharing_owner}))
    async with AsyncExitStack() as stack:
        sharing_app = create_sharing(sharing)
        intake_app, review_app = create_intake(intake), create_review(review)
        sharing_client = await stack.enter_async_context(running(sharing_app))
        intake_client = await stack.enter_async_context(running(intake_app))
        review_client = await stack.enter_async_context(running(review_app))
        stats_app = create_stats(stats)
        stats_client = await stack.enter_async_context(running(stats_app))
        trust_sharing(stats_app, sharing_app, stats, sharing.issuer_url)
        trust_sharing(intake_app, sharing_app, intake, sharing.issuer_url)
        trust_sharing(review_app, sharing_app, review, sharing.issuer_url)
        trust_sharing(sharing_app, sharing_app, sharing, sharing.issuer_url)
        for settings, worker in (
            (sharing, sharing_worker),
            (intake, intake_worker),
            (review, review_worker),
            (stats, stats_worker),
        ):
            await stack.enter_async_context(in_process_worker(settings, worker.consumers(settings)))
        yield Partnership(
            sharing_client,
            intake_client,
            review_client,
            {e["client_id"]: e for e in entries},
            stats_client,
        )


def _as_app_role(owner_url: str) -> str:
    role = SharingSettings().app_role
    return make_url(owner_url).set(username=role).render_as_string(hide_password=False)


async def test_a_new_agency_reads_exactly_what_a_new_protocol_version_grants(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tmp_path: Path
) -> None:
    async with partnership(migrated_database, own_nats, tmp_path) as p:
        admin = await p.as_demo("admin", "sharing")
        registered = await p.sharing.post(
            f"/areas/{DEMO_AREA_ID}/agencies",
            json={"name": "Demo Mental Health Trust", "kind": "health"},
            headers=admin,
        )
        assert registered.status_code == 201, registered.text
        trust_id = UUID(registered.json()["id"])
        created = await p.sharing.post(
            f"/agencies/{trust_id}/clients",
            json={
                "scopes": ["complaints:read", "people:read", "reviews:read", "shares:read"],
                "roles": ["case_officer"],  # its staff work cases (docs/roles.md)
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        trust = created.json()

        async def as_trust(service: str) -> dict[str, str]:
            return await p.token(trust["client_id"], trust["client_secret"], urn(service))

        council = await p.as_demo("council", "intake")
        first = await p.intake.post("/complaints", json=COMPLAINT, headers=council)
        assert first.status_code == 201, first.text

        # Before: the trust is a partner of the area, and the default protocol gives it nothing.
        async def known_to_intake() -> bool:
            r = await p.intake.get("/complaints", headers=await as_trust("intake"))
            return r.status_code == 200 and r.headers.get("Casebridge-Protocol-Version") == "1"

        await poll(known_to_intake, timeout=30, what="intake has the registry and protocol v1")
        hidden = await p.intake.get(
            f"/complaints/{first.json()['id']}", headers=await as_trust("intake")
        )
        assert hidden.status_code == 404

        # The administrator publishes version 2: two fields of complaints, to the trust only.
        await grant_two_fields(p, admin, trust_id)

        async def version_2_in_force() -> bool:
            r = await p.intake.get("/complaints", headers=await as_trust("intake"))
            return r.headers.get("Casebridge-Protocol-Version") == "2"

        await poll(version_2_in_force, timeout=30, what="intake applies protocol v2")
        second = await p.intake.post("/complaints", json=COMPLAINT, headers=council)
        assert second.status_code == 201
        await _reads_exactly_two_fields(p, await as_trust("intake"), [first.json(), second.json()])
        await _sees_nothing_of_review(p, await as_trust("review"))
        await _delivered_exactly_two_fields(p, await as_trust("sharing"), second.json())
        await _the_dpo_export_names_version_2(p, trust_id, second.json()["reference"])


async def grant_two_fields(p: Partnership, admin: dict[str, str], agency_id: UUID) -> None:
    """Publish protocol version 2: version 1 plus two fields of complaints, to one agency."""
    current = await p.sharing.get(f"/areas/{DEMO_AREA_ID}/protocol", headers=admin)
    document = current.json()["document"]
    document["rules"].append(
        {
            "data": "complaint",
            "purpose": "asb_case_management",
            "to": ["area_partner"],
            "agencies": [str(agency_id)],
            "allow": TWO_FIELDS,
        }
    )
    published = await p.sharing.put(
        f"/areas/{DEMO_AREA_ID}/protocol",
        content=yaml.safe_dump(document),
        headers={**admin, "Content-Type": "application/yaml"},
    )
    assert published.status_code in (200, 201), published.text
    assert published.json()["version"] == 2


async def _reads_exactly_two_fields(
    p: Partnership, headers: dict[str, str], complaints: list[dict[str, Any]]
) -> None:
    for complaint in complaints:
        expected = {k: complaint[k] for k in TWO_FIELDS}
        one = await p.intake.get(f"/complaints/{complaint['id']}", headers=headers)
        assert one.status_code == 200
        assert one.json() == expected
        by_reference = await p.intake.get(
            f"/complaints/by-reference/{complaint['reference']}", headers=headers
        )
        assert by_reference.json()["items"] == [expected]
        listed = (await p.intake.get("/complaints", headers=headers)).json()["items"]
        assert expected in listed
        assert all(set(item) <= set(TWO_FIELDS) for item in listed)
        person = await p.intake.get(f"/people/{complaint['person_id']}", headers=headers)
        assert person.status_code == 404
        risk = await p.intake.get(
            f"/complaints/{complaint['id']}/risk-assessments", headers=headers
        )
        assert risk.json() == []  # the complaint is seen; no assessment is granted
    people = (await p.intake.get("/people", headers=headers)).json()["items"]
    assert people == []


async def _sees_nothing_of_review(p: Partnership, headers: dict[str, str]) -> None:
    for url in ("/reviews", "/triggers"):
        response = await p.review.get(url, headers=headers)
        assert response.status_code == 200
        assert response.json()["items"] == []


async def _delivered_exactly_two_fields(
    p: Partnership, headers: dict[str, str], complaint: dict[str, Any]
) -> None:
    async def delivered() -> list[dict[str, Any]]:
        r = await p.sharing.get("/deliveries", headers=headers)
        items = r.json()["items"]
        return [d for d in items if d["data"].get("reference") == complaint["reference"]]

    await poll(delivered, timeout=30, what="the trust's delivery of the second complaint")
    (delivery,) = await delivered()
    shared = {k: v for k, v in delivery["data"].items() if k in TWO_FIELDS}
    assert shared == {k: complaint[k] for k in TWO_FIELDS}
    metadata = {"disclosure_id", "protocol_version", "purposes", "redacted_fields"}
    assert set(delivery["data"]) <= set(TWO_FIELDS) | metadata
    assert delivery["data"]["protocol_version"] == 2


async def _the_dpo_export_names_version_2(p: Partnership, trust_id: UUID, reference: str) -> None:
    dpo = await p.as_demo("council-dpo", "sharing")
    export = await p.sharing.get(
        "/audit/disclosures", params={"format": "csv", "reference": reference}, headers=dpo
    )
    assert export.status_code == 200, export.text
    rows = list(csv.DictReader(io.StringIO(export.text)))
    to_trust = [r for r in rows if r["recipient_agency_id"] == str(trust_id)]
    assert len(to_trust) == 1, rows
    assert to_trust[0]["protocol_version"] == "2"
    assert sorted(to_trust[0]["fields"].split()) == sorted(TWO_FIELDS)
