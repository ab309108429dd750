"""Payloads and counters the intake tests share."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from casebridge.common.events.models import OutboxMessage
from casebridge.intake.models import Complaint

from .conftest import Intake

# One value per run, so two calls build the same body (idempotency compares bodies).
OCCURRED = (datetime.now(UTC) - timedelta(hours=10)).replace(microsecond=0).isoformat()


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "phone",
        "complainant": {
            "details": {
                "name": "Ann Example",
                "phone": "020 7946 0018",
                "postcode": "SW1A 1AA",
                "date_of_birth": "1970-05-01",
            }
        },
        # Reported now (the default), about behaviour the night before: a fixed report date
        # would soon be a back-dated one, which needs a reason and has a limit.
        "occurred_at": OCCURRED,
        "location": {"address": "1 Example Street", "postcode": "SW1A 1AA"},
        "nsir_category": "personal",
        "asb_type": "rowdy_neighbours",
        "description": "Loud music until 3am",
        "consent": {"status": "given"},
    }
    body.update(copy.deepcopy(overrides))
    return body


def person(**details: Any) -> dict[str, Any]:
    return {"details": {"name": "Ann Example", **details}}


async def count(intake: Intake, model: type) -> int:
    async with intake.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def events(intake: Intake, event_type: str | None = None) -> list[dict[str, Any]]:
    async with intake.sessions() as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.created_at)
        if event_type:
            statement = statement.where(OutboxMessage.event_type == event_type)
        # now() is one instant inside the test's outer transaction: order by envelope time
        rows = sorted(await session.scalars(statement), key=lambda m: m.payload["time"])
        return [m.payload["data"] for m in rows]


async def log(intake: Intake, body: dict[str, Any], **auth: Any) -> dict[str, Any]:
    response = await intake.client.post("/complaints", json=body, headers=intake.auth(**auth))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def imported(intake: Intake, complaint: dict[str, Any], reported_at: str) -> None:
    """History older than the back-dating limit comes in through an import, not the API (out
    of scope for now): a test dates a logged complaint back in the database itself."""
    moment = datetime.fromisoformat(reported_at)
    async with intake.sessions() as session:
        await session.execute(
            update(Complaint)
            .where(Complaint.id == complaint["id"])
            .values(reported_at=moment, occurred_at=moment - timedelta(hours=1))
        )
        await session.commit()
