"""Agencies add their own references to a complaint after it was logged (issue 13.4): the
police attach a CAD number hours after the council took the call. Audited (who, when),
announced, and found at once by /complaints/by-reference."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casebridge.intake.models import AgencyReference

from .conftest import HOUSING, OTHER_AREA, OTHER_COUNCIL, POLICE, Intake
from .helpers import complaint, count, events, log

CAD = "CAD 4417/29NOV"
ADDED = "intake.complaint.reference_added.v1"


async def _add(intake: Intake, complaint_id: str, reference: str, **auth: Any) -> Any:
    return await intake.client.post(
        f"/complaints/{complaint_id}/references",
        json={"reference": reference},
        headers=intake.auth(**auth),
    )


async def _by_reference(intake: Intake, value: str, **auth: Any) -> Any:
    return await intake.client.get(f"/complaints/by-reference/{value}", headers=intake.auth(**auth))


async def test_police_add_their_cad_number_to_the_councils_complaint(intake: Intake) -> None:
    logged = await log(intake, complaint())  # the council's, consent given
    response = await _add(intake, logged["id"], CAD, agency=POLICE)
    assert response.status_code == 201, response.text
    refs = response.json()["agency_references"]
    assert [(r["agency_id"], r["reference"]) for r in refs] == [(str(POLICE), CAD)]
    assert refs[0]["added_at"]
    async with intake.sessions() as session:
        row = await session.scalar(select(AgencyReference))
    assert row is not None
    assert (row.agency_id, row.reference_norm) == (POLICE, "CAD441729NOV")
    assert row.added_by  # who added it: the police client
    (event,) = await events(intake, ADDED)
    assert event["complaint_id"] == logged["id"]
    assert event["agency_reference"] == {"agency_id": str(POLICE), "reference": CAD}
    assert event["consent_to_share"] == "given"
    # Searchable at once, written any way, by the police and by the council.
    for agency in (POLICE, None):
        found = await _by_reference(intake, "cad441729nov", agency=agency)
        assert found.status_code == 200, found.text
        assert [c["id"] for c in found.json()["items"]] == [logged["id"]]


async def test_own_reference_is_found_where_the_protocol_hides_references(
    intake: Intake,
) -> None:
    """Consent not asked: the police see the complaint but not the agencies' references;
    their own reference is their own data, so they find it and see it, and only it."""
    logged = await log(
        intake,
        complaint(
            consent={"status": "not_asked"},
            agency_references=[{"agency_id": str(HOUSING), "reference": "HSG-1"}],
        ),
    )
    response = await _add(intake, logged["id"], CAD, agency=POLICE)
    assert response.status_code == 201, response.text
    assert [r["reference"] for r in response.json()["agency_references"]] == [CAD]
    found = await _by_reference(intake, CAD, agency=POLICE)
    assert [c["id"] for c in found.json()["items"]] == [logged["id"]]
    assert (await _by_reference(intake, "HSG-1", agency=POLICE)).status_code == 404
    read = await intake.client.get(f"/complaints/{logged['id']}", headers=intake.auth(POLICE))
    assert [r["reference"] for r in read.json()["agency_references"]] == [CAD]
    own = await intake.client.get(f"/complaints/{logged['id']}", headers=intake.auth())
    assert {r["reference"] for r in own.json()["agency_references"]} == {"HSG-1", CAD}


async def test_the_same_reference_twice_changes_nothing(intake: Intake) -> None:
    logged = await log(intake, complaint())
    assert (await _add(intake, logged["id"], CAD, agency=POLICE)).status_code == 201
    again = await _add(intake, logged["id"], "cad 4417/29nov", agency=POLICE)
    assert again.status_code == 200, again.text
    assert await count(intake, AgencyReference) == 1
    assert len(await events(intake, ADDED)) == 1


async def test_an_agency_that_cannot_see_the_complaint_adds_nothing(intake: Intake) -> None:
    refused = await log(intake, complaint(consent={"status": "refused"}))
    response = await _add(intake, refused["id"], CAD, agency=POLICE)
    assert response.status_code == 404
    other_area = await _add(intake, refused["id"], CAD, agency=OTHER_COUNCIL, area=OTHER_AREA)
    assert other_area.status_code == 404
    assert await count(intake, AgencyReference) == 0
    assert await events(intake, ADDED) == []


async def test_a_bad_reference_is_422_and_writes_nothing(intake: Intake) -> None:
    logged = await log(intake, complaint())
    for bad in ("", "x" * 61, "CAD <script>"):
        response = await _add(intake, logged["id"], bad, agency=POLICE)
        assert response.status_code == 422, response.text
    assert await count(intake, AgencyReference) == 0
