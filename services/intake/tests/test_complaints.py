from __future__ import annotations

from casebridge.common.events.models import OutboxMessage
from casebridge.intake.models import Complaint
from casebridge.intake.references import is_valid_reference
from sqlalchemy import func, select

from .conftest import POLICE, Intake

COMPLAINT = {
    "channel": "phone",
    "nsir_category": "personal",
    "asb_type": "rowdy_neighbours",
    "description": "Loud music until 3am",
    "occurred_at": "2026-11-20T23:30:00Z",
    "postcode": "SW1A 1AA",
}


async def count(intake: Intake, model: type) -> int:
    async with intake.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_log_complaint_gives_reference_and_stages_event(intake: Intake) -> None:
    response = await intake.client.post("/complaints", json=COMPLAINT, headers=intake.auth())
    assert response.status_code == 201, response.text
    body = response.json()
    assert is_valid_reference(body["reference"])
    assert body["reference"].startswith("DMO-")
    async with intake.sessions() as session:
        message = (await session.scalars(select(OutboxMessage))).one()
    assert message.event_type == "intake.complaint.logged.v1"
    assert message.payload["data"]["complaint_id"] == body["id"]
    assert message.subject.startswith("intake.")


async def test_log_complaint_needs_write_scope(intake: Intake) -> None:
    response = await intake.client.post(
        "/complaints", json=COMPLAINT, headers=intake.auth(scopes=["complaints:read"])
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert await count(intake, Complaint) == 0


async def test_other_agency_cannot_read_complaint(intake: Intake) -> None:
    created = await intake.client.post("/complaints", json=COMPLAINT, headers=intake.auth())
    url = f"/complaints/{created.json()['id']}"
    assert (await intake.client.get(url, headers=intake.auth())).status_code == 200
    response = await intake.client.get(url, headers=intake.auth(POLICE))
    assert response.status_code == 404
    assert "Loud music" not in response.text
