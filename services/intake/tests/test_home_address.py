"""The place of the behaviour is not the complainant's home unless the handler says so
(issue 13.5): street drinking in a park, a shop, a neighbour's door are not where the
victim lives. A new log takes the complaint's address and postcode only with
`location.at_complainants_home`, and never over details the handler typed."""

from __future__ import annotations

from typing import Any

from casebridge.intake.models import Complaint, Person

from .conftest import Intake
from .helpers import complaint, count, log

PLACE = {"address": "Victoria Park, by the bandstand", "postcode": "LS1 4AP"}


async def _person(intake: Intake, person_id: str) -> dict[str, Any]:
    response = await intake.client.get(f"/people/{person_id}", headers=intake.auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_place_is_not_taken_for_the_victims_address(intake: Intake) -> None:
    details = {"name": "Ann Example", "phone": "07911 123456"}
    logged = await log(intake, complaint(complainant={"details": details}, location=PLACE))
    person = await _person(intake, logged["person_id"])
    assert person.get("address") is None
    assert person.get("postcode") is None


async def test_at_the_complainants_home_fills_what_was_not_given(intake: Intake) -> None:
    details = {"name": "Ann Example", "phone": "07911 123456"}
    home = {"address": "4 Quiet Lane", "postcode": "LS2 7EE", "at_complainants_home": True}
    logged = await log(intake, complaint(complainant={"details": details}, location=home))
    person = await _person(intake, logged["person_id"])
    assert (person["address"], person["postcode"]) == ("4 Quiet Lane", "LS2 7EE")
    assert logged["complainant"]["postcode"] == "LS2 7EE"
    given = {**details, "postcode": "M1 1AE"}  # what the handler typed wins
    other = await log(
        intake,
        complaint(complainant={"details": {**given, "name": "Bo Other", "phone": "07911 123457"}},
                  location=home),
    )  # fmt: skip
    assert (await _person(intake, other["person_id"]))["postcode"] == "M1 1AE"


async def test_at_home_without_a_complainant_is_422_and_records_nothing(intake: Intake) -> None:
    body = complaint(anonymous=True, location={**PLACE, "at_complainants_home": True})
    del body["complainant"]
    response = await intake.client.post("/complaints", json=body, headers=intake.auth())
    assert response.status_code == 422, response.text
    assert "at_complainants_home" in response.text
    assert await count(intake, Complaint) == 0
    assert await count(intake, Person) == 0
