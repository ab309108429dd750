"""API1: one visibility builder decides, for every route with an id or a list.

The receiving agency always sees its complaint; the area's other core partners see it only
where the victim consented to share (or an override is recorded); another area's agency, or
one that is not a core partner, sees nothing - in reads, lists and searches alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from casebridge.intake.main import create_app

from .conftest import COUNCIL, HEALTH, OTHER_AREA, OTHER_COUNCIL, POLICE, Intake
from .helpers import complaint, log, person

CALLERS: dict[str, dict[str, Any]] = {
    "receiving": {"agency": COUNCIL},
    "partner": {"agency": POLICE},
    "non_partner": {"agency": HEALTH},
    "other_area": {"agency": OTHER_COUNCIL, "area": OTHER_AREA},
}
# Who sees a complaint (and its complainant) with consent given / refused.
SEES = {
    "receiving": {"given": True, "refused": True},
    "partner": {"given": True, "refused": False},
    "non_partner": {"given": False, "refused": False},
    "other_area": {"given": False, "refused": False},
}


@dataclass
class World:
    given: dict[str, Any]
    refused: dict[str, Any]


async def _world(intake: Intake) -> World:
    given = await log(
        intake,
        complaint(
            complainant=person(name="Gina Given", phone="07911 111111", postcode="M1 1AE"),
            agency_references=[{"agency_id": str(COUNCIL), "reference": "GIV-1"}],
            location={"postcode": "M1 1AE"},
            consent={"status": "given"},
        ),
    )
    refused = await log(
        intake,
        complaint(
            complainant=person(name="Rita Refused", phone="07911 222222", postcode="M2 2AE"),
            agency_references=[{"agency_id": str(COUNCIL), "reference": "REF-1"}],
            location={"postcode": "M2 2AE"},
            consent={"status": "refused"},
        ),
    )
    return World(given, refused)


# Every read route with an id, and every list or search: (template, how to read the ids).
def _reads(c: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"/complaints/{c['id']}", "id"),
        (f"/complaints/by-reference/{c['reference']}", "items"),
        (f"/complaints/by-reference/{c['agency_references'][0]['reference']}", "items"),
        (f"/complaints/{c['id']}/risk-assessments", "list"),
        (f"/complaints/{c['id']}/duplicates", "list"),
        (f"/people/{c['person_id']}", "id"),
        (f"/people/{c['person_id']}/log", "log"),
        (f"/complaints/{c['id']}/timeline", "timeline"),
        (f"/people/{c['person_id']}/timeline", "timeline"),
        ("/complaints", "page"),
        (f"/complaints?reference={c['reference']}", "page"),
        (f"/complaints?postcode={c['location']['postcode']}", "page"),
        (f"/complaints?person_id={c['person_id']}", "page"),
        (f"/complaints?agency_id={COUNCIL}", "page"),
        ("/complaints?asb_type=rowdy_neighbours", "page"),
        (f"/people?postcode={c['location']['postcode']}", "people"),
        (f"/people?name={c['complainant_name']}", "people"),
        ("/people?phone=" + c["phone"].replace("+", "%2B"), "people"),
    ]


def _found(kind: str, body: Any, c: dict[str, Any]) -> bool:
    if kind == "id":
        return body.get("id") in (c["id"], c["person_id"])
    if kind == "items":
        return any(i["id"] == c["id"] for i in body["items"])
    if kind == "page":
        return any(i["id"] == c["id"] for i in body["items"])
    if kind == "people":
        return any(i["id"] == c["person_id"] for i in body["items"])
    if kind == "log":
        return any(i["id"] == c["id"] for i in body["complaints"]["items"])
    if kind == "timeline":
        return any(i["data"].get("id") == c["id"] for i in body["items"])
    return True  # "list": an id route; visible means 200


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_reads_lists_and_searches(intake: Intake, caller: str) -> None:
    world = await _world(intake)
    headers = intake.auth(**CALLERS[caller])
    names = {"given": ("Gina Given", "+447911111111"), "refused": ("Rita Refused", "+447911222222")}
    for consent, created in (("given", world.given), ("refused", world.refused)):
        name, phone = names[consent]
        c = {**created, "complainant_name": name, "phone": phone}
        expected = SEES[caller][consent]
        for url, kind in _reads(c):
            response = await intake.client.get(url, headers=headers)
            if kind in ("id", "items", "list", "log", "timeline"):
                assert response.status_code == (200 if expected else 404), (caller, url)
                if not expected:
                    assert c["id"] not in response.text
                    assert c["reference"] not in response.text
            else:
                assert response.status_code == 200, (caller, url, response.text)
            if response.status_code == 200:
                assert _found(kind, response.json(), c) is expected, (caller, consent, url)


@pytest.mark.parametrize("caller", ["partner", "non_partner", "other_area"])
async def test_writes_on_an_unseen_complaint_are_404_and_change_nothing(
    intake: Intake, caller: str
) -> None:
    world = await _world(intake)
    c, other = world.refused, world.given
    headers = intake.auth(**CALLERS[caller])
    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PATCH", f"/complaints/{c['id']}", {"status": "closed"}),
        ("POST", f"/complaints/{c['id']}/consent", {"status": "given"}),
        (
            "POST",
            f"/complaints/{c['id']}/sharing-override",
            {"justification": "x" * 20, "approved_by": "Duty inspector"},
        ),
        ("POST", f"/complaints/{c['id']}/link", {"complaint_id": other["id"]}),
        ("POST", f"/complaints/{other['id']}/link", {"complaint_id": c["id"]}),
        ("POST", f"/complaints/{c['id']}/unlink", None),
        ("POST", f"/complaints/{c['id']}/risk-assessments", {"answers": {}}),
        ("POST", f"/complaints/{c['id']}/references", {"reference": "CAD 1"}),
        (
            "POST",
            f"/people/{c['person_id']}/vulnerability",
            {"vulnerable": True, "reason": "officer's judgement"},
        ),
        (
            "POST",
            f"/people/{other['person_id']}/merge",
            {"duplicate_id": c["person_id"], "reason": "same"},
        ),
    ]
    for method, url, body in writes:
        response = await intake.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 404, (caller, method, url, response.text)
    again = await intake.client.get(f"/complaints/{c['id']}", headers=intake.auth())
    assert again.json()["status"] == "open"
    assert again.json()["consent_status"] == "refused"
    assert again.json()["incident_id"] == c["incident_id"]


async def test_override_shows_a_refused_complaint_to_partners_only(intake: Intake) -> None:
    world = await _world(intake)
    url = f"/complaints/{world.refused['id']}"
    response = await intake.client.post(
        f"{url}/sharing-override",
        json={
            "justification": "risk of serious harm to the victim",
            "approved_by": "Duty inspector",
        },
        headers=intake.auth(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["shared_by_override"] is True
    assert (await intake.client.get(url, headers=intake.auth(POLICE))).status_code == 200
    assert (await intake.client.get(url, headers=intake.auth(HEALTH))).status_code == 404
    other = intake.auth(OTHER_COUNCIL, area=OTHER_AREA)
    assert (await intake.client.get(url, headers=other)).status_code == 404


async def test_withdrawn_consent_hides_it_again(intake: Intake) -> None:
    world = await _world(intake)
    url = f"/complaints/{world.given['id']}"
    assert (await intake.client.get(url, headers=intake.auth(POLICE))).status_code == 200
    await intake.client.post(f"{url}/consent", json={"status": "withdrawn"}, headers=intake.auth())
    assert (await intake.client.get(url, headers=intake.auth(POLICE))).status_code == 404


def test_every_route_with_an_id_or_a_list_is_in_the_matrix() -> None:
    """A new route with an id or a list must be added to the matrix above (API1)."""
    covered = {
        "/complaints/{complaint_id}",
        "/complaints/by-reference/{reference}",
        "/complaints/{complaint_id}/risk-assessments",
        "/complaints/{complaint_id}/duplicates",
        "/complaints/{complaint_id}/consent",
        "/complaints/{complaint_id}/sharing-override",
        "/complaints/{complaint_id}/link",
        "/complaints/{complaint_id}/unlink",
        "/complaints/{complaint_id}/timeline",
        "/people/{person_id}/timeline",
        "/complaints/{complaint_id}/references",
        "/people/{person_id}",
        "/people/{person_id}/vulnerability",
        "/people/{person_id}/log",
        "/people/{person_id}/merge",
        "/complaints",
        "/people",
    }
    paths = set(create_app().openapi()["paths"])
    rest = {p for p in paths if not p.startswith("/open311/")}
    needing = {p for p in rest if "{" in p} | {"/complaints", "/people"}
    assert needing <= covered, needing - covered
