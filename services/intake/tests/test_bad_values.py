"""Values intake must not store (issue 8, item 8): a consent recorded in the future, a
reference for an agency that is not one of the area's, a field "cleared" with null, text
for a boolean. Each is a 422 that says why, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from casebridge.intake.models import Complaint

from .conftest import COUNCIL, HEALTH, OTHER_COUNCIL, Intake
from .helpers import complaint, count, log

FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()


def reasons(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    return {item["field"]: item["reason"] for item in body["detail"]}


async def test_consent_recorded_in_the_future_is_refused(intake: Intake) -> None:
    body = complaint(consent={"status": "given", "recorded_at": FUTURE})
    response = await intake.client.post("/complaints", json=body, headers=intake.auth())
    assert any("future" in reason for reason in reasons(response).values())
    assert await count(intake, Complaint) == 0


async def test_consent_changed_in_the_future_is_refused(intake: Intake) -> None:
    logged = await log(intake, complaint())
    response = await intake.client.post(
        f"/complaints/{logged['id']}/consent",
        json={"status": "withdrawn", "recorded_at": FUTURE},
        headers=intake.auth(),
    )
    assert any("future" in reason for reason in reasons(response).values())
    again = await intake.client.get(f"/complaints/{logged['id']}", headers=intake.auth())
    assert again.json()["consent_status"] == "given"


@pytest.mark.parametrize(
    "agency",
    [OTHER_COUNCIL, "0192f0a0-0000-7000-8000-00000000dead"],
    ids=["another area's", "none at all"],
)
async def test_a_reference_of_an_agency_not_in_the_area_is_refused(
    intake: Intake, agency: object
) -> None:
    body = complaint(agency_references=[{"agency_id": str(agency), "reference": "CAD 1/2"}])
    response = await intake.client.post("/complaints", json=body, headers=intake.auth())
    found = reasons(response)
    assert "body.agency_references.0.agency_id" in found, found
    assert await count(intake, Complaint) == 0


async def test_references_of_the_areas_agencies_are_kept(intake: Intake) -> None:
    refs = [
        {"agency_id": str(COUNCIL), "reference": "ASB/1"},
        {"agency_id": str(HEALTH), "reference": "ICB-7"},
    ]
    logged = await log(intake, complaint(agency_references=refs))
    assert len(logged["agency_references"]) == 2


@pytest.mark.parametrize("field", ["description", "status", "asb_type", "hate_motivated"])
async def test_patch_with_null_is_refused_and_says_why(intake: Intake, field: str) -> None:
    logged = await log(intake, complaint())
    response = await intake.client.patch(
        f"/complaints/{logged['id']}", json={field: None}, headers=intake.auth()
    )
    found = reasons(response)
    assert "leave it out" in found[f"body.{field}"], found
    again = (await intake.client.get(f"/complaints/{logged['id']}", headers=intake.auth())).json()
    assert again[field] == logged[field]


async def test_patch_documents_no_null(intake: Intake) -> None:
    spec = (await intake.client.get("/openapi.json")).json()
    update = spec["components"]["schemas"]["ComplaintUpdate"]["properties"]
    assert "null" not in str(update["description"]), update["description"]


async def test_text_as_a_boolean_is_refused_on_patch(intake: Intake) -> None:
    logged = await log(intake, complaint())
    response = await intake.client.patch(
        f"/complaints/{logged['id']}", json={"hate_motivated": "true"}, headers=intake.auth()
    )
    assert "body.hate_motivated" in reasons(response)
