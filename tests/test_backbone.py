"""The walking skeleton: a complaint committed in intake is counted by stats exactly once."""

from __future__ import annotations

from casebridge.testing.poll import poll
from tests.conftest import COMPLAINT, System


async def test_complaint_reaches_stats_once(system: System) -> None:
    async with (
        system.intake_client() as intake,
        system.stats_client() as stats,
        system.intake_worker(),
        system.stats_worker(),
    ):
        for _ in range(5):
            response = await intake.post("/complaints", json=COMPLAINT)
            assert response.status_code == 201, response.text

        async def counted() -> bool:
            return await system.stats_total() == 5

        await poll(counted)
        assert await system.outbox_size() == 0
        response = await stats.get("/stats/complaints")
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 5
        assert body["by_type"] == {"noise": 5}
