"""Near-duplicates (issue 13.3): a name variant with the same date of birth or postcode is
offered as a candidate (409 person_match_uncertain), never attached, and nothing is
recorded until the handler chooses. The table is the one in the README."""

from __future__ import annotations

from typing import Any

import pytest

from casebridge.intake.models import Complaint, Person

from .conftest import Intake
from .helpers import complaint, count, log

DOB, OTHER_DOB = "1970-05-01", "1981-09-12"
POSTCODE, OTHER_POSTCODE = "LS1 4AP", "M1 1AE"

# (first caller, second caller, what they share, offered?)
PAIRS = [
    # nicknames
    ("Robert Smith", "Bob Smith", "date of birth", True),
    ("Robert Smith", "Bob Smith", "postcode", True),
    ("William Brown", "Bill Brown", "postcode", True),
    ("Margaret Hughes", "Peggy Hughes", "date of birth", True),
    ("Elizabeth Taylor", "Liz Taylor", "date of birth", True),
    # transliterations and spellings
    ("Mohammed Khan", "Muhammad Khan", "date of birth", True),
    ("Mohamed Khan", "Muhammad Khan", "postcode", True),
    ("Aleksandr Petrov", "Alexander Petrov", "date of birth", True),
    ("Katherine Jones", "Catherine Jones", "date of birth", True),
    ("Stephen Clarke", "Steven Clark", "date of birth", True),
    ("Robert Smith", "Rob Smyth", "date of birth", True),
    # typos, initials
    ("Jonathan Price", "Johnathan Price", "date of birth", True),
    ("Robert Smith", "R. Smith", "postcode", True),
    # other people
    ("Robert Smith", "Susan Smith", "date of birth", False),
    ("Robert Smith", "Susan Smith", "postcode", False),
    ("Tom Smith", "Tim Smith", "postcode", False),
    ("James Smith", "John Smith", "date of birth", False),
    ("Christine Evans", "Christopher Evans", "postcode", False),
    ("Robert Smith", "Robert Jones", "date of birth", False),
    ("Robert Smith", "Bob Smith", "nothing", False),
    ("Robert Smith", "Bob Smith", "postcode, not the date of birth", False),
    # known misses: the surname's sound differs, or the words are swapped
    ("Robert Smith", "Robert Smtih", "date of birth", False),
    ("Siobhan Kelly", "Shivaun Kelly", "date of birth", False),
    ("Wei Zhang", "Zhang Wei", "date of birth", False),
]


def _details(name: str, shared: str, first: bool) -> dict[str, Any]:
    if shared == "date of birth":
        postcode = POSTCODE if first else OTHER_POSTCODE
        return {"name": name, "date_of_birth": DOB, "postcode": postcode}
    if shared == "postcode":
        return {"name": name, "postcode": POSTCODE}
    if shared == "nothing":
        return {"name": name, "date_of_birth": DOB if first else OTHER_DOB}
    return {"name": name, "postcode": POSTCODE, "date_of_birth": DOB if first else OTHER_DOB}


@pytest.mark.parametrize(("first", "second", "shared", "offered"), PAIRS)
async def test_name_variants_are_offered_as_candidates(
    intake: Intake, first: str, second: str, shared: str, offered: bool
) -> None:
    kept = await log(intake, complaint(complainant={"details": _details(first, shared, True)}))
    before = await count(intake, Complaint)
    response = await intake.client.post(
        "/complaints",
        json=complaint(complainant={"details": _details(second, shared, False)}),
        headers=intake.auth(),
    )
    if not offered:
        assert response.status_code == 201, response.text
        assert response.json()["match"] == "created"
        return
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "person_match_uncertain"
    (candidate,) = body["detail"]["candidates"]
    assert candidate["person_id"] == kept["person_id"]
    reason = "similar name and same " + ("date of birth" if "date" in shared else "postcode")
    assert reason in candidate["reasons"]
    assert "different name" not in candidate["reasons"]
    assert await count(intake, Complaint) == before  # nothing recorded
    assert await count(intake, Person) == 1


async def test_a_variant_is_never_attached_and_the_handler_chooses(intake: Intake) -> None:
    robert = await log(
        intake, complaint(complainant={"details": _details("Robert Smith", "postcode", True)})
    )
    bob = {"details": _details("Bob Smith", "postcode", False)}
    chosen = await log(intake, complaint(complainant={"person_id": robert["person_id"]}))
    assert chosen["match"] == "chosen"
    fresh = await log(intake, complaint(complainant={**bob, "match": "new"}))
    assert fresh["person_id"] != robert["person_id"]
    assert fresh["match"] == "created"
