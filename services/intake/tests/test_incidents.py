from __future__ import annotations

from .conftest import POLICE, Intake
from .helpers import complaint, days_ago, events, log


async def test_link_and_unlink_are_events(intake: Intake) -> None:
    council = await log(intake, complaint())
    police = await log(intake, complaint(), agency=POLICE)
    linked = await intake.client.post(
        f"/complaints/{police['id']}/link",
        json={"complaint_id": council["id"]},
        headers=intake.auth(POLICE),
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["incident_id"] == council["incident_id"]
    (event,) = await events(intake, "intake.incident.linked.v1")
    assert event["incident_id"] == council["incident_id"]
    assert event["previous_incident_id"] == police["incident_id"]
    again = await intake.client.post(
        f"/complaints/{police['id']}/link",
        json={"complaint_id": council["id"]},
        headers=intake.auth(POLICE),
    )
    assert again.status_code == 409
    unlinked = await intake.client.post(
        f"/complaints/{police['id']}/unlink", headers=intake.auth(POLICE)
    )
    assert unlinked.status_code == 200
    assert unlinked.json()["incident_id"] not in (council["incident_id"], police["incident_id"])
    (event,) = await events(intake, "intake.incident.unlinked.v1")
    assert event["previous_incident_id"] == council["incident_id"]
    alone = await intake.client.post(
        f"/complaints/{police['id']}/unlink", headers=intake.auth(POLICE)
    )
    assert alone.status_code == 409


async def test_duplicates_suggested_within_the_window(intake: Intake) -> None:
    first = await log(intake, complaint())
    same = await log(intake, complaint(occurred_at=days_ago(0.3)), agency=POLICE)
    await log(intake, complaint(asb_type="noise"))  # another type
    await log(intake, complaint(location={"postcode": "M1 1AE"}))  # another place
    await log(  # outside the 72-hour default window
        intake,
        complaint(occurred_at=days_ago(10), reported_at=days_ago(9), backdated_reason="letter"),
    )
    response = await intake.client.get(
        f"/complaints/{first['id']}/duplicates", headers=intake.auth()
    )
    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [same["id"]]
    await intake.client.post(
        f"/complaints/{same['id']}/link",
        json={"complaint_id": first["id"]},
        headers=intake.auth(),
    )
    response = await intake.client.get(
        f"/complaints/{first['id']}/duplicates", headers=intake.auth()
    )
    assert response.json() == []
