"""Back-dating a report (issue 11, point 3): bounded per area, with a reason, audited, and
carried to review in ComplaintLogged."""

from __future__ import annotations

from typing import Any

import pytest

from casebridge.intake.models import Complaint

from .conftest import Intake
from .helpers import complaint, count, days_ago, events, log


async def test_a_report_dated_days_back_keeps_who_why_and_when_recorded(intake: Intake) -> None:
    body = complaint(
        occurred_at=days_ago(6), reported_at=days_ago(5), backdated_reason="voicemail on Friday"
    )
    created = await log(intake, body)
    assert created["reported_at"][:10] == body["reported_at"][:10]
    assert created["recorded_at"] > created["reported_at"]
    assert created["backdated"] is True
    assert created["backdated_reason"] == "voicemail on Friday"
    assert created["backdated_by"]
    read = await intake.client.get(f"/complaints/{created['id']}", headers=intake.auth())
    assert read.json()["backdated_reason"] == "voicemail on Friday"
    (event,) = await events(intake, "intake.complaint.logged.v1")
    assert event["backdated"] is True
    assert event["backdated_reason"] == "voicemail on Friday"
    assert event["backdated_by"] == created["backdated_by"]
    assert event["recorded_at"] == created["recorded_at"]


async def test_a_report_dated_today_is_not_back_dated(intake: Intake) -> None:
    created = await log(intake, complaint())
    assert created["backdated"] is False
    assert created["backdated_reason"] is None
    assert created["recorded_at"] == created["reported_at"]


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        # a week back with no reason
        ({"occurred_at": days_ago(8), "reported_at": days_ago(7)}, "body.backdated_reason",
         "needs a reason"),
        # 25 years back, even with a reason: history is imported, not typed in
        ({"occurred_at": days_ago(9200), "reported_at": days_ago(9131), "backdated_reason": "old"},
         "body.reported_at", "this area allows at most 14"),
        ({"occurred_at": days_ago(20), "reported_at": days_ago(15), "backdated_reason": "letter"},
         "body.reported_at", "15 days back"),
        # never before the behaviour, never in the future (the request schema)
        ({"occurred_at": days_ago(2), "reported_at": days_ago(3), "backdated_reason": "x"},
         "body", "occurred_at must not be after reported_at"),
        ({"reported_at": days_ago(-1)}, "body", "must not be in the future"),
    ],
)  # fmt: skip
async def test_back_dating_out_of_bounds_is_refused_and_writes_nothing(
    intake: Intake, changes: dict[str, Any], field: str, reason: str
) -> None:
    response = await intake.client.post(
        "/complaints", json=complaint(**changes), headers=intake.auth()
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    (detail,) = response.json()["detail"]
    assert detail["field"] == field
    assert reason in detail["reason"]
    assert await count(intake, Complaint) == 0
    assert await events(intake) == []
