"""Complaints and the other monthly counts from intake's and sharing's events."""

from __future__ import annotations

import uuid

from .conftest import Stats
from .events import COUNCIL, POLICE, at, complaint, envelope


async def summary(stats: Stats, **params: str) -> dict[str, object]:
    response = await stats.client.get("/stats/complaints", params=params, headers=stats.auth())
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_complaints_have_breakdowns_and_a_postcode_district(stats: Stats) -> None:
    await stats.deliver(
        envelope(complaint(stats.area), stats.area),
        envelope(
            complaint(stats.area, receiving_agency_id=POLICE, asb_type="fireworks",
                      hate_motivated=True, postcode="M1 1AE"),
            stats.area,
        ),
        envelope(complaint(stats.area, reported_at=at("2026-12-01T10:00"), postcode=None),
                 stats.area),
    )  # fmt: skip
    body = await summary(stats)
    assert body["total"] == 3
    assert body["by_type"] == {"fireworks": 1, "noise": 2}
    assert body["by_month"] == {"2026-11": 2, "2026-12": 1}
    assert body["by_agency"] == {str(COUNCIL): 2, str(POLICE): 1}
    assert body["by_postcode_district"] == {"M1": 1, "SW1A": 1, "unknown": 1}
    assert body["hate_motivated"] == 1


async def test_a_complaint_counts_in_its_month_in_london(stats: Stats) -> None:
    """00:30 BST on 1 October is 23:30 UTC on 30 September: an October complaint."""
    await stats.deliver(
        envelope(complaint(stats.area, reported_at=at("2026-09-30T23:30")), stats.area)
    )
    assert (await summary(stats))["by_month"] == {"2026-10": 1}


async def test_redelivered_complaint_counts_once(stats: Stats) -> None:
    event = envelope(complaint(stats.area), stats.area)
    assert await stats.deliver(event, event, event) == [True, False, False]
    assert (await summary(stats))["total"] == 1


async def test_date_range_filters_by_month(stats: Stats) -> None:
    await stats.deliver(
        envelope(complaint(stats.area), stats.area),
        envelope(complaint(stats.area, reported_at=at("2026-12-05T10:00")), stats.area),
    )
    assert (await summary(stats, date_from="2026-12-01"))["total"] == 1


async def test_an_area_sees_only_its_own_complaints(stats: Stats) -> None:
    other = uuid.uuid4()
    await stats.deliver(
        envelope(complaint(stats.area), stats.area), envelope(complaint(other), other)
    )
    assert (await summary(stats))["total"] == 1
    stranger = await stats.client.get("/stats/complaints", headers=stats.auth(area=uuid.uuid4()))
    assert stranger.json()["total"] == 0


async def test_the_area_code_comes_from_references_and_intake_wins(stats: Stats) -> None:
    from .events import Review

    review = Review(stats.area)
    review.reference = "CR-CSP-2026-000001"  # review's default code for an unconfigured area
    await stats.deliver(review.applied("2025-05-01T10:00"))
    page = await stats.client.get(f"/public/{stats.area}/case-reviews")
    assert page.status_code == 200
    await stats.deliver(envelope(complaint(stats.area, reference="DMO-2026-000009-4"), stats.area))
    body = (await stats.client.get("/stats/case-reviews", headers=stats.auth())).json()
    assert body["area"] == {"id": str(stats.area), "code": "DMO"}
    assert (await stats.client.get("/public/dmo/case-reviews")).status_code == 200
