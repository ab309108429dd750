"""Intake's reads decide with the area's information-sharing protocol, and nothing else.

Issue 8.1: matching keeps one log; it never unlocks what other agencies recorded. Consent
refused means refused. The alleged perpetrator's landlord never learns who complained
without a recorded override for a lawful purpose. A protocol version published later
decides every read from then on (the response names the version it applied)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert

from casebridge.common.db import utcnow
from casebridge.intake.models import CaseInvitation, PartnerAgency, ProtocolVersion

from .conftest import COUNCIL, HEALTH, HOUSING, POLICE, Intake, default_protocol
from .helpers import complaint, log

VICTIM = {
    "name": "Vera Victim",
    "date_of_birth": "1961-02-03",
    "phone": "07911 123987",
    "email": "vera@example.org",
    "address": "4 Quiet Lane",
    "postcode": "LS1 4AP",
}
IDENTITY_VALUES = ("07911 123987", "+447911123987", "vera@example.org", "4 Quiet Lane", "LS1 4AP")


async def _get(intake: Intake, url: str, agency: UUID) -> Any:
    return await intake.client.get(url, headers=intake.auth(agency))


async def _police_complaint(intake: Intake, consent: str, **extra: Any) -> dict[str, Any]:
    return await log(
        intake,
        complaint(
            complainant={"details": VICTIM},
            location={"address": "4 Quiet Lane", "postcode": "LS1 4AP"},
            consent={"status": consent},
            **extra,
        ),
        agency=POLICE,
    )


async def _matched_by(intake: Intake, agency: UUID, consent: str = "not_asked") -> dict[str, Any]:
    """Another agency logs its own complaint with the victim's name and date of birth: the
    match is certain, so it lands on the same log."""
    details = {"name": VICTIM["name"], "date_of_birth": VICTIM["date_of_birth"]}
    return await log(
        intake,
        complaint(
            complainant={"details": details},
            location={"postcode": "LS2 7EE"},
            consent={"status": consent},
        ),
        agency=agency,
    )


async def test_a_match_does_not_unlock_a_refused_victims_record(intake: Intake) -> None:
    first = await _police_complaint(intake, "refused")
    mine = await _matched_by(intake, HEALTH)
    assert mine["person_id"] == first["person_id"]  # one log
    assert mine["match"] == "logged"  # consent refused: not even told the caller was known
    person = await _get(intake, f"/people/{first['person_id']}", HEALTH)
    assert person.status_code == 200
    body = person.json()
    # Only what this agency supplied itself; nothing the police recorded.
    assert body == {
        "id": first["person_id"],
        "name": "Vera Victim",
        "date_of_birth": "1961-02-03",
        "kind": "individual",
        "supplied_fields": ["date_of_birth", "kind", "name"],
    }
    for value in IDENTITY_VALUES:
        assert value not in person.text
    log_ = await _get(intake, f"/people/{first['person_id']}/log", HEALTH)
    assert [c["id"] for c in log_.json()["complaints"]["items"]] == [mine["id"]]
    assert (await _get(intake, f"/complaints/{first['id']}", HEALTH)).status_code == 404
    for url in (
        "/people?phone=%2B447911123987",
        "/people?email=vera@example.org",
        "/people?postcode=LS1%204AP",
        f"/complaints?person_id={first['person_id']}",
    ):
        found = await _get(intake, url, HEALTH)
        assert found.status_code == 200
        assert first["id"] not in found.text, url
        for value in IDENTITY_VALUES:
            assert value not in found.text, url
    # What it supplied, it can find.
    own = await _get(intake, "/people?name=Vera%20Victim", HEALTH)
    assert [p["id"] for p in own.json()["items"]] == [first["person_id"]]


async def test_a_core_partner_that_matched_sees_no_more_than_the_protocol_grants(
    intake: Intake,
) -> None:
    first = await _police_complaint(intake, "refused")
    mine = await _matched_by(intake, COUNCIL, consent="given")
    assert mine["person_id"] == first["person_id"]
    # The council's complaint has consent given; the log's latest word is now "given".
    body = (await _get(intake, f"/people/{first['person_id']}", COUNCIL)).json()
    assert body["phone"] == "+447911123987"  # the latest word opens the log to core partners
    # ... but the police complaint itself stays refused: the council sees nothing of it.
    assert (await _get(intake, f"/complaints/{first['id']}", COUNCIL)).status_code == 404


async def test_the_logs_latest_word_on_consent_decides(intake: Intake) -> None:
    first = await _police_complaint(intake, "given")
    assert (await _get(intake, f"/people/{first['person_id']}", COUNCIL)).json()["phone"]
    withdrawn = await intake.client.post(
        f"/complaints/{first['id']}/consent",
        json={"status": "withdrawn"},
        headers=intake.auth(POLICE),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await _get(intake, f"/people/{first['person_id']}", COUNCIL)).status_code == 404
    assert (await _get(intake, f"/complaints/{first['id']}", COUNCIL)).status_code == 404
    # The police, who recorded it, still see their complaint whole.
    own = (await _get(intake, f"/complaints/{first['id']}", POLICE)).json()
    assert own["description"]


async def test_a_non_core_agency_with_consent_learns_only_what_the_recorder_rule_says(
    intake: Intake,
) -> None:
    first = await _police_complaint(intake, "given")
    mine = await _matched_by(intake, HEALTH, consent="given")
    assert mine["match"] == "attached"  # the default protocol tells a recorder it was known
    body = (await _get(intake, f"/people/{first['person_id']}", HEALTH)).json()
    assert set(body) == {
        "id", "kind", "repeat_victim", "vulnerable", "name", "date_of_birth", "supplied_fields"
    }  # fmt: skip
    assert "phone" not in body


async def test_the_perpetrators_landlord_never_learns_who_complained(intake: Intake) -> None:
    perpetrator = {"kind": "person", "name": "Pete Noisy", "landlord_agency_id": str(HOUSING)}
    first = await _police_complaint(intake, "given", perpetrators=[perpetrator])
    read = await _get(intake, f"/complaints/{first['id']}", HOUSING)
    assert read.status_code == 200
    body = read.json()
    assert body["perpetrators"][0]["name"] == "Pete Noisy"
    assert body["location"] == {"postcode_district": "LS1"}
    for field in ("person_id", "complainant", "witnesses", "description"):
        assert field not in body, field
    for value in IDENTITY_VALUES:
        assert value not in read.text
    assert (await _get(intake, f"/people/{first['person_id']}", HOUSING)).status_code == 404
    search = await _get(intake, "/complaints?postcode=LS1%204AP", HOUSING)
    assert first["id"] not in search.text
    # An override recorded for an injunction application opens what the protocol names.
    override = await intake.client.post(
        f"/complaints/{first['id']}/sharing-override",
        json={
            "purpose": "injunction_application",
            "justification": "civil injunction application against the tenant",
            "approved_by": "Head of ASB, Demo Constabulary",
        },
        headers=intake.auth(POLICE),
    )
    assert override.status_code == 200, override.text
    opened = (await _get(intake, f"/complaints/{first['id']}", HOUSING)).json()
    assert opened["person_id"] == first["person_id"]
    assert opened["location"]["postcode"] == "LS1 4AP"


async def test_a_landlord_named_must_be_an_agency_of_the_area(intake: Intake) -> None:
    perpetrator = {"kind": "person", "landlord_agency_id": "0192f0a0-0000-7000-8000-0000000000ff"}
    response = await intake.client.post(
        "/complaints", json=complaint(perpetrators=[perpetrator]), headers=intake.auth(POLICE)
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "body.perpetrators.0.landlord_agency_id"


async def test_a_new_protocol_version_decides_every_read_from_then_on(intake: Intake) -> None:
    first = await _police_complaint(intake, "given")
    assert (await _get(intake, f"/complaints/{first['id']}", HEALTH)).status_code == 404
    document = default_protocol()
    document["rules"].append(
        {
            "data": "complaint",
            "purpose": "asb_case_management",
            "to": ["area_partner"],
            "agencies": [str(HEALTH)],
            "allow": ["reference", "asb_type"],
        }
    )
    async with intake.sessions() as session:
        await session.execute(
            insert(ProtocolVersion).values(
                area_id=intake.area, version=2, document=document, published_at=utcnow()
            )
        )
        await session.commit()
    read = await _get(intake, f"/complaints/{first['id']}", HEALTH)
    assert read.status_code == 200
    assert read.json() == {"reference": first["reference"], "asb_type": "rowdy_neighbours"}
    assert read.headers["Casebridge-Protocol-Version"] == "2"
    listed = (await _get(intake, "/complaints", HEALTH)).json()["items"]
    assert {"reference": first["reference"], "asb_type": "rowdy_neighbours"} in listed
    by_reference = await _get(intake, f"/complaints/by-reference/{first['reference']}", HEALTH)
    assert by_reference.json()["items"] == [
        {"reference": first["reference"], "asb_type": "rowdy_neighbours"}
    ]
    # Filters on fields it may not see match nothing.
    assert (await _get(intake, f"/complaints?person_id={first['person_id']}", HEALTH)).json()[
        "items"
    ] == []


async def test_an_invited_agency_sees_the_case_it_was_invited_to(intake: Intake) -> None:
    first = await _police_complaint(intake, "given")
    other = await _police_complaint(intake, "given")
    async with intake.sessions() as session:
        await session.execute(
            insert(CaseInvitation).values(
                case_reference=first["reference"],
                agency_id=HEALTH,
                area_id=intake.area,
                invited=True,
                changed_at=utcnow(),
            )
        )
        await session.commit()
    read = await _get(intake, f"/complaints/{first['id']}", HEALTH)
    assert read.status_code == 200
    assert read.json()["person_id"] == first["person_id"]
    assert "description" not in read.json()  # free text stays with the recorder
    assert (await _get(intake, f"/complaints/{other['id']}", HEALTH)).status_code == 404


async def test_a_deactivated_core_partner_sees_nothing_it_did_not_record(intake: Intake) -> None:
    first = await _police_complaint(intake, "given")
    async with intake.sessions() as session:
        agency = await session.get(PartnerAgency, COUNCIL)
        assert agency is not None
        agency.active = False
        await session.commit()
    assert (await _get(intake, f"/complaints/{first['id']}", COUNCIL)).status_code == 404


async def test_uncertain_match_candidates_show_only_what_the_caller_may_see(
    intake: Intake,
) -> None:
    first = await _police_complaint(intake, "refused")
    # Same phone, other name: an uncertain match. The police, who recorded the log, are
    # asked to choose, and see the name they recorded.
    body = complaint(complainant={"details": {"name": "V. Victim", "phone": VICTIM["phone"]}})
    asked = await intake.client.post("/complaints", json=body, headers=intake.auth(POLICE))
    assert asked.status_code == 409
    (candidate,) = asked.json()["detail"]["candidates"]
    assert candidate["person_id"] == first["person_id"]
    assert candidate["name"] == "Vera Victim"
    # The health agency knows nothing of that log: no candidate, a new log, no name.
    response = await intake.client.post("/complaints", json=body, headers=intake.auth(HEALTH))
    assert response.status_code == 201, response.text
    assert response.json()["person_id"] != first["person_id"]
    assert "Vera" not in json.dumps(response.json())
