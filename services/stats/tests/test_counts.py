from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.stats.models import ComplaintCount
from casebridge.stats.service import count_complaint

from .conftest import Stats

AREA_A, AREA_B = uuid.uuid4(), uuid.uuid4()
COUNCIL, POLICE = uuid.uuid4(), uuid.uuid4()


def logged(area: uuid.UUID, agency: uuid.UUID, **overrides: Any) -> ComplaintLogged:
    values: dict[str, Any] = {
        "complaint_id": uuid.uuid4(),
        "reference": "DMO-2026-000001-0",
        "area_id": area,
        "receiving_agency_id": agency,
        "person_id": uuid.uuid4(),
        "channel": "phone",
        "nsir_category": "personal",
        "asb_type": "noise",
        "occurred_at": datetime(2026, 10, 30, 22, tzinfo=UTC),
        "reported_at": datetime(2026, 11, 2, 9, tzinfo=UTC),
    }
    return ComplaintLogged.model_validate(values | overrides)


async def record(stats: Stats, *events: ComplaintLogged) -> None:
    async with stats.sessions() as session:
        for event in events:
            await count_complaint(session, event)
        await session.commit()


async def test_counts_have_breakdowns(stats: Stats) -> None:
    await record(
        stats,
        logged(AREA_A, COUNCIL),
        logged(AREA_A, POLICE, asb_type="fireworks", hate_motivated=True),
        logged(AREA_A, POLICE, reported_at=datetime(2026, 12, 1, tzinfo=UTC)),
    )
    body = (
        await stats.client.get("/stats/complaints", headers=stats.auth(COUNCIL, area=AREA_A))
    ).json()
    assert body["total"] == 3
    assert body["by_type"] == {"noise": 2, "fireworks": 1}
    assert body["by_month"] == {"2026-11": 2, "2026-12": 1}
    assert body["by_agency"] == {str(COUNCIL): 1, str(POLICE): 2}
    assert body["hate_motivated"] == 1


async def test_date_range_filters_by_month(stats: Stats) -> None:
    await record(
        stats,
        logged(AREA_A, COUNCIL),
        logged(AREA_A, COUNCIL, reported_at=datetime(2026, 12, 5, tzinfo=UTC)),
    )
    response = await stats.client.get(
        "/stats/complaints",
        headers=stats.auth(COUNCIL, area=AREA_A),
        params={"date_from": "2026-12-01"},
    )
    assert response.json()["total"] == 1


async def test_an_area_sees_only_its_own_counts(stats: Stats) -> None:
    await record(stats, logged(AREA_A, COUNCIL), logged(AREA_B, POLICE))
    for area, agency in ((AREA_A, COUNCIL), (AREA_B, POLICE)):
        body = (
            await stats.client.get("/stats/complaints", headers=stats.auth(agency, area=area))
        ).json()
        assert body["total"] == 1
        assert body["area_id"] == str(area)
    stranger = (
        await stats.client.get(
            "/stats/complaints", headers=stats.auth(uuid.uuid4(), area=uuid.uuid4())
        )
    ).json()
    assert stranger["total"] == 0


def test_read_model_holds_no_personal_data() -> None:
    """LEG-R8: counts only; no person, complaint, reference, postcode or free-text column."""
    columns = {c.key for c in inspect(ComplaintCount).columns}
    assert columns == {
        "area_id",
        "month",
        "agency_id",
        "asb_type",
        "nsir_category",
        "channel",
        "hate_motivated",
        "complaints",
    }
