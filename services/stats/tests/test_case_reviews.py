"""The four published counts from event sequences: redelivery, out-of-order arrival,
re-decisions, and the edges of periods (31 March / 1 April in BST, quarter ends, a leap day)."""

from __future__ import annotations

import csv
import io
import itertools
import random
import uuid
from typing import Any

from sqlalchemy import select

from casebridge.common.events.envelope import Envelope
from casebridge.stats.counting import derived
from casebridge.stats.models import DailyCount, MonthlyCount, ReviewFact, ReviewStage, TriggerFact

from .conftest import Stats
from .events import Review, trigger

FOUR = ("applications", "threshold_not_met", "reviews_carried_out", "reviews_with_recommendations")


async def counts(stats: Stats, **params: Any) -> list[dict[str, Any]]:
    response = await stats.client.get("/stats/case-reviews", params=params, headers=stats.auth())
    assert response.status_code == 200, response.text
    return [{"period": r["period"], **{k: r[k] for k in FOUR}} for r in response.json()["rows"]]


def row(period: str, *values: int) -> dict[str, Any]:
    return {"period": period, **dict(zip(FOUR, values, strict=True))}


async def daily_cells(stats: Stats) -> dict[tuple[Any, ...], int]:
    async with stats.sessions() as session:
        rows = await session.scalars(select(DailyCount).where(DailyCount.value != 0))
        return {(c.area_id, c.measure, c.detail, c.day): c.value for c in rows}


async def test_a_review_carried_out_with_recommendations_counts_in_each_measure(
    stats: Stats,
) -> None:
    review = Review(stats.area)
    await stats.deliver(
        *review.carried_out(
            "2025-05-01T10:00", "2025-05-10T10:00", "2025-06-02T10:00", "2025-06-20T10:00"
        )
    )
    refused = Review(stats.area)
    await stats.deliver(
        refused.applied("2025-07-01T10:00"), refused.decided("2025-07-08T10:00", met=False)
    )
    assert await counts(stats, period="financial_year", date_from="2025-04-01") == [
        row("2025-26", 2, 1, 1, 1),
        row("2026-27", 0, 0, 0, 0),
    ]
    assert await counts(stats, period="quarter", date_from="2025-04-01", date_to="2025-09-30") == [
        row("2025-26 Q1", 1, 0, 1, 1),
        row("2025-26 Q2", 1, 1, 0, 0),
    ]


async def test_redelivered_events_count_once(stats: Stats) -> None:
    review = Review(stats.area)
    events = review.carried_out(
        "2025-05-01T10:00", "2025-05-10T10:00", "2025-06-02T10:00", "2025-06-20T10:00"
    )
    assert await stats.deliver(*events) == [True] * 5
    assert await stats.deliver(*events, *events) == [False] * 10
    assert await counts(stats, period="range", date_from="2025-01-01", date_to="2025-12-31") == [
        row("2025-01-01 to 2025-12-31", 1, 0, 1, 1)
    ]


def lifecycle(review: Review) -> list[Envelope]:
    return [
        review.applied("2025-05-01T10:00"),
        review.acknowledged("2025-05-02T10:00"),
        review.decided("2025-05-10T10:00", met=False),
        review.escalated("2025-05-20T10:00"),
        review.decided("2025-06-01T10:00", met=True),
        review.held("2025-06-15T10:00"),
        review.recommended("2025-06-20T10:00"),
        review.missed("acknowledge", "2025-05-06T10:00"),
    ]


async def test_any_order_of_arrival_gives_the_same_counts(stats: Stats) -> None:
    """A decision before its application, the meeting before the decision: the facts are
    merged so every order ends in the same daily counts, equal to those derived afresh.
    Each order is one review in an area of its own."""
    indices = list(range(len(lifecycle(Review(stats.area)))))
    orders = [list(p) for p in itertools.islice(itertools.permutations(indices), 0, None, 997)]
    orders += [indices[::-1], random.Random(12).sample(indices, len(indices))]
    areas = [uuid.uuid4() for _ in orders]
    for area, order in zip(areas, orders, strict=True):
        events = lifecycle(Review(area))
        await stats.deliver(*(events[i] for i in order))
    cells = await daily_cells(stats)
    per_area = [sorted((k[1:], v) for k, v in cells.items() if k[0] == area) for area in areas]
    assert per_area[0]
    assert all(found == per_area[0] for found in per_area[1:])
    assert cells == await derived_cells(stats)
    assert await monthly_cells(stats) == rolled_up(cells)
    await stats.deliver(*lifecycle(Review(stats.area)))
    assert await counts(stats, period="range", date_from="2025-04-01", date_to="2026-03-31") == [
        row("2025-04-01 to 2026-03-31", 1, 0, 1, 1)
    ]


async def monthly_cells(stats: Stats) -> dict[tuple[Any, ...], int]:
    async with stats.sessions() as session:
        rows = await session.scalars(select(MonthlyCount).where(MonthlyCount.value != 0))
        return {(c.area_id, c.measure, c.detail, c.month): c.value for c in rows}


def rolled_up(cells: dict[tuple[Any, ...], int]) -> dict[tuple[Any, ...], int]:
    months: dict[tuple[Any, ...], int] = {}
    for (area, measure, detail, day), value in cells.items():
        key = (area, measure, detail, day.replace(day=1))
        months[key] = months.get(key, 0) + value
    return {k: v for k, v in months.items() if v}


async def derived_cells(stats: Stats) -> dict[tuple[Any, ...], int]:
    async with stats.sessions() as session:
        return derived(
            await session.scalars(select(ReviewFact)),
            await session.scalars(select(ReviewStage)),
            await session.scalars(select(TriggerFact)),
        )


async def test_a_decision_before_its_application_counts_when_the_application_arrives(
    stats: Stats,
) -> None:
    review = Review(stats.area)
    await stats.deliver(review.decided("2025-05-10T10:00", met=False))
    assert await counts(stats, period="range", date_from="2025-05-01", date_to="2025-05-31") == [
        row("2025-05-01 to 2025-05-31", 0, 1, 0, 0)
    ]
    await stats.deliver(review.applied("2025-05-01T10:00"))
    assert await counts(stats, period="range", date_from="2025-05-01", date_to="2025-05-31") == [
        row("2025-05-01 to 2025-05-31", 1, 1, 0, 0)
    ]


async def test_a_re_decision_after_escalation_is_not_counted_twice(stats: Stats) -> None:
    confirmed, overturned = Review(stats.area), Review(stats.area)
    await stats.deliver(
        confirmed.applied("2025-05-01T10:00"),
        confirmed.decided("2025-05-10T10:00", met=False),
        confirmed.escalated("2025-06-01T10:00"),
        confirmed.decided("2025-07-10T10:00", met=False),
        overturned.applied("2025-05-01T10:00"),
        overturned.decided("2025-05-10T10:00", met=False),
        overturned.escalated("2025-06-01T10:00"),
        overturned.decided("2025-07-10T10:00", met=True),
        overturned.held("2025-08-01T10:00"),
    )
    assert await counts(stats, period="quarter", date_from="2025-04-01", date_to="2025-09-30") == [
        row("2025-26 Q1", 2, 1, 0, 0),
        row("2025-26 Q2", 0, 0, 1, 0),
    ]


async def test_31_march_and_1_april_are_told_apart_in_london_time(stats: Stats) -> None:
    """BST began on 29 March 2026: 22:59 UTC on 31 March is 23:59 that day; 23:00 UTC is
    already 1 April, in the next financial year."""
    before, after = Review(stats.area), Review(stats.area)
    await stats.deliver(before.applied("2026-03-31T22:59"), after.applied("2026-03-31T23:00"))
    assert await counts(
        stats, period="financial_year", date_from="2025-04-01", date_to="2027-03-31"
    ) == [
        row("2025-26", 1, 0, 0, 0),
        row("2026-27", 1, 0, 0, 0),
    ]
    assert await counts(
        stats, period="calendar_year", date_from="2026-01-01", date_to="2026-12-31"
    ) == [row("2026", 2, 0, 0, 0)]


async def test_quarter_ends_and_a_leap_day(stats: Stats) -> None:
    june, july, leap = Review(stats.area), Review(stats.area), Review(stats.area)
    await stats.deliver(
        june.applied("2026-06-30T22:59"),  # 23:59 BST, 30 June: Q1
        july.applied("2026-06-30T23:00"),  # 00:00 BST, 1 July: Q2
        leap.applied("2028-02-29T12:00"),  # GMT
        leap.decided("2028-02-29T23:59", met=False),
    )
    assert await counts(stats, period="quarter", date_from="2026-06-01", date_to="2026-07-31") == [
        row("2026-27 Q1", 1, 0, 0, 0),
        row("2026-27 Q2", 1, 0, 0, 0),
    ]
    assert await counts(stats, period="range", date_from="2028-02-29", date_to="2028-02-29") == [
        row("2028-02-29 to 2028-02-29", 1, 1, 0, 0)
    ]
    assert await counts(stats, period="month", date_from="2028-02-01", date_to="2028-03-31") == [
        row("2028-02", 1, 1, 0, 0),
        row("2028-03", 0, 0, 0, 0),
    ]


async def test_default_periods_are_the_recent_ones_marked_incomplete(stats: Stats) -> None:
    body = (await stats.client.get("/stats/case-reviews", headers=stats.auth())).json()
    assert [r["period"] for r in body["rows"]] == ["2024-25", "2025-26", "2026-27"]
    assert [r["complete"] for r in body["rows"]] == [True, True, False]
    assert set(body["definitions"]) == set(FOUR)
    assert "meeting" in body["definitions"]["reviews_carried_out"]
    assert body["timezone"] == "Europe/London"


async def test_csv_by_accept_header_or_format(stats: Stats) -> None:
    review = Review(stats.area)
    await stats.deliver(review.applied("2025-05-01T10:00"))
    by_accept = await stats.client.get(
        "/stats/case-reviews",
        params={"period": "quarter", "date_from": "2025-04-01", "date_to": "2025-06-30"},
        headers={**stats.auth(), "Accept": "text/csv"},
    )
    by_format = await stats.client.get(
        "/stats/case-reviews",
        params={
            "period": "quarter",
            "date_from": "2025-04-01",
            "date_to": "2025-06-30",
            "format": "csv",
        },
        headers=stats.auth(),
    )
    assert by_accept.headers["content-type"] == "text/csv; charset=utf-8"
    assert by_accept.content == by_format.content
    (only,) = list(csv.DictReader(io.StringIO(by_accept.text)))
    assert only["period"] == "2025-26 Q1"
    assert only["applications"] == "1"
    assert only["area_id"] == str(stats.area)


async def test_bad_periods_are_refused_with_a_reason(stats: Stats) -> None:
    for params, field in (
        ({"period": "range", "date_from": "2025-01-01"}, "period=range needs"),
        ({"date_from": "2026-01-01", "date_to": "2025-01-01"}, "after date_to"),
        ({"period": "month", "date_from": "1900-01-01", "date_to": "2026-01-01"}, "at most"),
        ({"period": "fortnight"}, "period"),
    ):
        response = await stats.client.get(
            "/stats/case-reviews", params=params, headers=stats.auth()
        )
        assert response.status_code == 422, params
        assert field in response.text


async def test_an_area_sees_only_its_own_reviews(stats: Stats) -> None:
    ours, theirs = Review(stats.area), Review(stats.area.__class__(int=stats.area.int ^ 1))
    await stats.deliver(ours.applied("2025-05-01T10:00"), theirs.applied("2025-05-01T10:00"))
    assert await counts(stats, period="range", date_from="2025-05-01", date_to="2025-05-31") == [
        row("2025-05-01 to 2025-05-31", 1, 0, 0, 0)
    ]
    unscoped = await stats.client.get("/stats/case-reviews", headers=stats.auth(scopes=["x"]))
    assert unscoped.status_code == 403
    assert (await stats.client.get("/stats/case-reviews")).status_code == 401


async def test_second_report_prompts_do_not_touch_the_four_counts(stats: Stats) -> None:
    await stats.deliver(
        *trigger(stats.area, "second_report", "2025-05-01T10:00", "2025-05-03T10:00")
    )
    assert await counts(stats, period="range", date_from="2025-05-01", date_to="2025-05-31") == [
        row("2025-05-01 to 2025-05-31", 0, 0, 0, 0)
    ]
    assert await daily_cells(stats) == await derived_cells(stats)
