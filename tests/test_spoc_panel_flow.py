"""Issue 10, "every way a partner receives case events", for the SPOC and the panel, through
the real services and their workers: the administrator names the SPOC and the panel in
review's procedure (PUT /config); review announces it over JetStream; sharing's worker
keeps it and decides every later case review event with the `spoc` and `panel` relations.
Under the default protocol the applicant's details go to the SPOC and the panel only: the
SPOC (the police) and a panel member that is no core partner (a health trust) receive the
application with its applicant in their feeds, a core partner that is neither (housing)
gets a refusal on record. Naming housing SPOC moves that for the next application."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.devstack.seeds.review import demo_document
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll
from tests.conftest import COMPLAINT, scalar
from tests.test_case_review_flow import APPLICATION
from tests.test_protocol_flow import Partnership, partnership, urn

COUNCIL, _ = DEMO_AGENCIES["council"]
POLICE, _ = DEMO_AGENCIES["police"]
HOUSING, _ = DEMO_AGENCIES["housing"]
APPLIED = "case_review.applied"


def procedure(spoc: UUID, panel: list[UUID]) -> str:
    """The demo procedure with another SPOC and panel (every member core)."""
    rules: dict[str, Any] = yaml.safe_load(demo_document())
    rules["spoc"]["agency_id"] = str(spoc)
    rules["panel"]["members"] = [
        {"agency_id": str(agency), "name": f"member {n}"} for n, agency in enumerate(panel)
    ]
    rules["panel"]["majority"] = {"required": len(panel), "of": len(panel), "quorum": len(panel)}
    return str(yaml.safe_dump(rules, sort_keys=False))


async def test_the_spoc_and_panel_review_names_receive_the_applicant(
    migrated_database: MigratedDatabase, own_nats: NatsServer, tmp_path: Path
) -> None:
    databases: dict[str, str] = {}

    async def recorded(service: str) -> str:
        databases[service] = await migrated_database(service)
        return databases[service]

    async with partnership(recorded, own_nats, tmp_path) as p:
        sharing_db = databases["sharing"]
        admin = await p.as_demo("admin", "sharing")
        trust, trust_headers = await _a_trust_with_a_client(p, admin)

        await _publish_procedure(p, sharing_db, procedure(POLICE, [COUNCIL, trust]), version=2)
        first = await _an_application(p, "Ann Example", "020 7946 0018")
        police = await p.as_demo("police", "sharing")
        for headers in (police, trust_headers):
            item = await _delivered(p, headers, first["id"])
            assert item["data"]["person_id"] == first["person_id"]
            assert item["data"]["applicant_kind"] == "victim"
            assert item["data"]["purposes"] == ["asb_case_review_s104"]
        await _refused(sharing_db, HOUSING, first["reference"])

        # Housing becomes the SPOC: the next application reaches it, not the police.
        await _publish_procedure(p, sharing_db, procedure(HOUSING, [COUNCIL, trust]), version=3)
        second = await _an_application(p, "Bob Example", "020 7946 0019")
        housing = await p.as_demo("housing", "sharing")
        item = await _delivered(p, housing, second["id"])
        assert item["data"]["person_id"] == second["person_id"]
        await _refused(sharing_db, POLICE, second["reference"])
        feed = (await p.sharing.get("/feed", headers=police)).json()["items"]
        assert [i["data"]["id"] for i in feed if i["subject"].endswith(f"{APPLIED}.v1")] == [
            first["id"]
        ]


async def _a_trust_with_a_client(
    p: Partnership, admin: dict[str, str]
) -> tuple[UUID, dict[str, str]]:
    """A health trust registered in the area (not a core partner) with a client that reads
    its feed."""
    registered = await p.sharing.post(
        f"/areas/{DEMO_AREA_ID}/agencies",
        json={"name": "Demo Mental Health Trust", "kind": "health"},
        headers=admin,
    )
    assert registered.status_code == 201, registered.text
    trust = UUID(registered.json()["id"])
    created = await p.sharing.post(
        f"/agencies/{trust}/clients",
        json={"scopes": ["shares:read"], "roles": ["case_officer"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    client = created.json()
    return trust, await p.token(client["client_id"], client["client_secret"], urn("sharing"))


async def _publish_procedure(p: Partnership, sharing_db: str, document: str, version: int) -> None:
    """The administrator publishes it at review; sharing's worker has it once announced."""
    admin = await p.as_demo("admin", "review")
    published = await p.review.put(
        "/config", content=document, headers={**admin, "Content-Type": "application/yaml"}
    )
    assert published.status_code == 201, published.text
    assert published.json()["version"] == version

    async def kept() -> bool:
        found = await scalar(
            sharing_db,
            "SELECT version FROM area_procedure WHERE area_id = :area",
            area=DEMO_AREA_ID,
        )
        return bool(found == version)

    await poll(kept, timeout=30, what=f"sharing keeps procedure version {version}")


async def _an_application(p: Partnership, name: str, phone: str) -> dict[str, Any]:
    """The council logs a complaint for a new victim and receives their application."""
    council = await p.as_demo("council", "intake")
    complaint = {**COMPLAINT, "complainant": {"details": {"name": name, "phone": phone}}}
    logged = await p.intake.post("/complaints", json=complaint, headers=council)
    assert logged.status_code == 201, logged.text
    person = logged.json()["person_id"]
    at_review = await p.as_demo("council", "review")
    applied: list[dict[str, Any]] = []

    async def received() -> bool:  # once review has indexed the complaint
        body = {**APPLICATION, "applicant_name": name, "person_id": person}
        response = await p.review.post("/reviews", json=body, headers=at_review)
        if response.status_code == 201:
            applied.append(response.json())
        return response.status_code == 201

    await poll(received, timeout=30, what="review receives the application")
    return {**applied[0], "person_id": person}


async def _delivered(p: Partnership, headers: dict[str, str], review_id: str) -> dict[str, Any]:
    """The application as it arrived in one agency's feed."""
    found: list[dict[str, Any]] = []

    async def arrived() -> bool:
        items = (await p.sharing.get("/feed", headers=headers)).json()["items"]
        found[:] = [i for i in items if i["data"].get("id") == review_id]
        return bool(found)

    await poll(arrived, timeout=30, what="the application in the feed")
    (item,) = found
    assert item["subject"].endswith(f".{APPLIED}.v1")
    return item


async def _refused(sharing_db: str, agency: UUID, reference: str) -> None:
    async def recorded() -> bool:
        outcome = await scalar(
            sharing_db,
            "SELECT outcome FROM disclosure WHERE recipient_agency_id = :agency"
            " AND source_reference = :reference"
            " AND source_event_type = 'review.case_review.applied.v1'",
            agency=agency,
            reference=reference,
        )
        return bool(outcome == "refused")

    await poll(recorded, timeout=30, what="a refusal on record")
