"""The request bodies in examples/ (the README's and `make run`'s) work as they say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import POLICE, Intake
from .helpers import log

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def example(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return body


async def test_every_example_works_as_the_readme_says(intake: Intake) -> None:
    first = await log(intake, example("complaint.json"))
    assert first["match"] == "created"
    assert first["reference"].startswith("DMO-")
    again = await log(intake, example("repeat-caller.json"))
    assert (again["match"], again["person_id"]) == ("attached", first["person_id"])
    risky = await log(intake, example("complaint-with-risk.json"))
    assert (risky["risk_band"], risky["vulnerable"]) == ("high", True)
    assert risky["risk_next_step"]
    anonymous = await log(intake, example("anonymous.json"))
    assert anonymous["usable_for_case_review"] is False
    added = await intake.client.post(
        f"/complaints/{first['id']}/references",
        json=example("reference.json"),
        headers=intake.auth(POLICE),
    )
    assert added.status_code == 201, added.text
    flagged = await intake.client.post(
        f"/people/{first['person_id']}/vulnerability",
        json=example("vulnerability.json"),
        headers=intake.auth(),
    )
    assert flagged.status_code == 201, flagged.text
    listed = {p.name for p in EXAMPLES.glob("*.json")}
    assert listed == {
        "complaint.json", "repeat-caller.json", "complaint-with-risk.json", "anonymous.json",
        "reference.json", "vulnerability.json",
    }  # fmt: skip
