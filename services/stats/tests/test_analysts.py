"""The analysts' monthly measures: breakdowns, filters, trends, paging, CSV, refusals."""

from __future__ import annotations

import csv
import io
from typing import Any

from .conftest import Stats
from .events import (
    COUNCIL,
    HOUSING,
    POLICE,
    Review,
    at,
    complaint,
    disclosure,
    disclosures,
    envelope,
    partner_update,
    repeat_victim,
    risk,
    trigger,
    vulnerability,
)


async def monthly(stats: Stats, measure: str, **params: Any) -> dict[str, Any]:
    response = await stats.client.get(
        f"/stats/monthly/{measure}", params=params, headers=stats.auth()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def values(body: dict[str, Any]) -> dict[str, list[Any]]:
    return {s["key"]: [p["value"] for p in s["points"]] for s in body["series"]}


def point(body: dict[str, Any], key: str, month: str) -> dict[str, Any]:
    series = next(s for s in body["series"] if s["key"] == key)
    found: dict[str, Any] = next(p for p in series["points"] if p["month"] == month)
    return found


async def complaints_in(stats: Stats, month: str, n: int, **overrides: Any) -> None:
    await stats.deliver(
        *(
            envelope(
                complaint(stats.area, reported_at=at(f"{month}-10T10:00"), **overrides), stats.area
            )
            for _ in range(n)
        )
    )


async def test_complaints_by_type_with_month_on_month_and_year_on_year(stats: Stats) -> None:
    await complaints_in(stats, "2025-10", 4)
    await complaints_in(stats, "2026-09", 5)
    await complaints_in(stats, "2026-10", 10)
    await complaints_in(stats, "2026-10", 2, asb_type="fireworks")
    body = await monthly(stats, "complaints", by="asb_type", to="2026-10", months=2)
    assert body["months"] == ["2026-09", "2026-10"]
    assert values(body) == {"fireworks": [0.0, 2.0], "noise": [5.0, 10.0]}
    october = point(body, "noise", "2026-10")
    assert october["previous_month"] == 5.0
    assert october["change_month_on_month"] == 5.0
    assert october["percent_change_month_on_month"] == 100.0
    assert october["same_month_last_year"] == 4.0
    assert october["change_year_on_year"] == 6.0
    assert october["percent_change_year_on_year"] == 150.0
    assert body["previous_page"] == "/stats/monthly/complaints?by=asb_type&to=2026-08&months=2"
    assert body["next_page"] == "/stats/monthly/complaints?by=asb_type&to=2026-12&months=2"


async def test_complaints_filtered_and_by_every_breakdown(stats: Stats) -> None:
    await complaints_in(stats, "2026-10", 3, receiving_agency_id=POLICE, channel="online")
    await complaints_in(stats, "2026-10", 1, hate_motivated=True, postcode="M1 1AE")
    filtered = await monthly(stats, "complaints", to="2026-10", months=1, agency_id=str(POLICE))
    assert values(filtered) == {"all": [3.0]}
    assert filtered["filters"] == {"agency_id": str(POLICE)}
    for by, expected in (
        ("agency", {str(POLICE): [3.0], str(COUNCIL): [1.0]}),
        ("channel", {"online": [3.0], "phone": [1.0]}),
        ("hate_motivated", {"false": [3.0], "true": [1.0]}),
        ("postcode_district", {"M1": [1.0], "SW1A": [3.0]}),
        ("nsir_category", {"personal": [4.0]}),
    ):
        assert values(await monthly(stats, "complaints", by=by, to="2026-10", months=1)) == expected


async def test_review_measures(stats: Stats) -> None:
    met, not_met = Review(stats.area), Review(stats.area)
    await stats.deliver(
        met.applied("2026-10-01T09:00"),
        met.acknowledged("2026-10-03T09:00"),
        met.decided("2026-10-11T09:00", met=True),
        not_met.applied("2026-10-02T09:00"),
        not_met.acknowledged("2026-10-03T09:00"),
        not_met.missed("acknowledge", "2026-10-03T08:00"),
        not_met.decided("2026-10-05T09:00", met=False),
    )
    rate = await monthly(stats, "threshold_met_rate", to="2026-10", months=1)
    assert rate["unit"] == "share"
    october = point(rate, "all", "2026-10")
    assert (october["value"], october["base"]) == (0.5, 2)
    ack = await monthly(stats, "days_to_acknowledgement", to="2026-10", months=1)
    assert point(ack, "all", "2026-10")["value"] == 1.5  # 2 days and 1 day
    decision = await monthly(stats, "days_to_decision", to="2026-10", months=1)
    assert point(decision, "all", "2026-10")["value"] == 6.5  # 10 days and 3 days
    deadlines = await monthly(stats, "deadlines", by="outcome", to="2026-10", months=1)
    assert values(deadlines) == {"met": [3.0], "missed": [1.0]}
    share = await monthly(stats, "deadlines_met_share", by="stage", to="2026-10", months=1)
    assert values(share) == {"acknowledge": [0.5], "threshold_decision": [1.0]}
    decisions = await monthly(stats, "threshold_decisions", by="outcome", to="2026-10", months=1)
    assert values(decisions) == {"met": [1.0], "not_met": [1.0]}
    routes = await monthly(stats, "applications", by="route", to="2026-10", months=1)
    assert values(routes) == {"applicant": [2.0]}


async def test_prompts_risk_repeat_victims_and_partners(stats: Stats) -> None:
    await stats.deliver(
        *trigger(stats.area, "second_report", "2026-10-01T10:00", "2026-10-02T10:00"),
        *trigger(stats.area, "second_report", "2026-10-05T10:00"),
        *trigger(stats.area, "statutory", "2026-10-06T10:00"),
        risk(stats.area, "high", "2026-10-01T10:00"),
        risk(stats.area, "high", "2026-10-01T10:00", agency=POLICE),
        risk(stats.area, "standard", "2026-10-01T10:00"),
        repeat_victim(stats.area, "2026-10-07T10:00"),
        disclosures(stats.area, "2026-10-01T10:00", (POLICE, "delivered"), (HOUSING, "refused")),
        disclosure(stats.area, HOUSING, "2026-10-02T10:00"),  # an older event, replayed
        partner_update(stats.area, POLICE, "2026-10-02T10:00"),
        partner_update(stats.area, POLICE, "2026-10-03T10:00"),
        partner_update(stats.area, HOUSING, "2026-10-03T10:00"),
    )
    one = {"to": "2026-10", "months": 1}
    assert values(await monthly(stats, "second_report_prompts_raised", **one)) == {"all": [2.0]}
    assert values(await monthly(stats, "second_report_prompts_explained", **one)) == {"all": [1.0]}
    assert values(await monthly(stats, "triggers_raised", by="kind", **one)) == {
        "second_report": [2.0], "statutory": [1.0]
    }  # fmt: skip
    assert values(await monthly(stats, "high_risk_assessments", **one)) == {"all": [2.0]}
    assert values(await monthly(stats, "risk_assessments", by="band", **one)) == {
        "high": [2.0], "standard": [1.0]
    }  # fmt: skip
    assert values(await monthly(stats, "repeat_victims", **one)) == {"all": [1.0]}
    assert values(await monthly(stats, "partner_deliveries", by="agency", **one)) == {
        str(HOUSING): [2.0], str(POLICE): [1.0]
    }  # fmt: skip
    assert values(await monthly(stats, "partner_deliveries", outcome="delivered", **one)) == {
        "all": [2.0]
    }
    assert values(await monthly(stats, "partner_updates", **one)) == {"all": [3.0]}
    assert values(await monthly(stats, "partner_updates", by="agency", **one)) == {
        str(HOUSING): [1.0], str(POLICE): [2.0]
    }  # fmt: skip
    assert values(await monthly(stats, "partner_deliveries", **one)) == {"all": [3.0]}


async def test_vulnerable_victims_flagged_and_cleared_by_origin(stats: Stats) -> None:
    """Issue 13: the vulnerable victims are counted; a flag confirmed again is no change."""
    await stats.deliver(
        vulnerability(stats.area, "2026-10-02T10:00", vulnerable=True, previous=False),
        vulnerability(
            stats.area, "2026-10-03T10:00", vulnerable=True, previous=False, origin="risk_answers"
        ),
        vulnerability(
            stats.area, "2026-10-04T10:00", vulnerable=True, previous=False, origin="risk_answers"
        ),
        vulnerability(stats.area, "2026-10-05T10:00", vulnerable=True, previous=True),
        vulnerability(stats.area, "2026-10-06T10:00", vulnerable=False, previous=True),
    )
    one = {"to": "2026-10", "months": 1}
    assert values(await monthly(stats, "vulnerable_flagged", **one)) == {"all": [3.0]}
    assert values(await monthly(stats, "vulnerable_flagged", by="origin", **one)) == {
        "officer": [1.0], "risk_answers": [2.0]
    }  # fmt: skip
    assert values(await monthly(stats, "vulnerable_flagged", origin="officer", **one)) == {
        "all": [1.0]
    }
    assert values(await monthly(stats, "vulnerable_cleared", **one)) == {"all": [1.0]}


async def test_csv_export_is_one_row_per_key_and_month(stats: Stats) -> None:
    await complaints_in(stats, "2026-10", 2)
    response = await stats.client.get(
        "/stats/monthly/complaints",
        params={"to": "2026-10", "months": 3, "format": "csv"},
        headers=stats.auth(),
    )
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["key"], r["month"], r["value"]) for r in rows] == [
        ("all", "2026-08", "0.0"), ("all", "2026-09", "0.0"), ("all", "2026-10", "2.0")
    ]  # fmt: skip


async def test_queries_a_measure_cannot_answer_are_422_with_a_reason(stats: Stats) -> None:
    for path, params, reason in (
        ("/stats/monthly/nonsense", {}, "path.measure"),
        ("/stats/monthly/complaints", {"by": "colour"}, "query.by"),
        ("/stats/monthly/complaints", {"by": "stage"}, "breaks down by"),
        ("/stats/monthly/repeat_victims", {"channel": "phone"}, "not a filter"),
        ("/stats/monthly/complaints", {"by": "postcode_district", "channel": "phone"}, "filter"),
        ("/stats/monthly/complaints", {"to": "2026-13"}, "query.to"),
        ("/stats/monthly/complaints", {"months": 100}, "months"),
        ("/stats/monthly/complaints", {"asb_type": "Noise; DROP"}, "asb_type"),
    ):
        response = await stats.client.get(path, params=params, headers=stats.auth())
        assert response.status_code == 422, (path, params, response.text)
        assert reason in response.text, response.text


async def test_the_next_page_stops_at_the_current_month(stats: Stats) -> None:
    body = await monthly(stats, "complaints")
    assert body["months"][-1] == "2026-11"
    assert body["next_page"] is None
    assert len(body["months"]) == 12


async def test_an_escalation_decided_in_time_meets_its_deadline(stats: Stats) -> None:
    """Issue 11's escalation body decides with the `decide_escalation` transition; a
    re-decision of "met" comes as another threshold decision (counted once, as met)."""
    review = Review(stats.area)
    await stats.deliver(
        review.applied("2026-09-01T09:00"),
        review.decided("2026-09-05T09:00", met=False),
        review.escalated("2026-09-10T09:00"),
        review.moved("decide_escalation", "escalated", "threshold_met", "2026-10-02T09:00"),
        review.decided("2026-10-02T09:00", met=True),
    )
    stages = await monthly(stats, "deadlines", by="stage", to="2026-10", months=2)
    assert values(stages) == {"escalation_decision": [0.0, 1.0], "threshold_decision": [1.0, 0.0]}
    decisions = await monthly(stats, "threshold_decisions", by="outcome", to="2026-10", months=2)
    assert values(decisions) == {"met": [0.0, 1.0]}  # on the day first decided met
    escalations = await monthly(stats, "escalations", to="2026-10", months=2)
    assert values(escalations) == {"all": [1.0, 0.0]}


def test_the_breakdowns_the_schema_allows_are_every_measures() -> None:
    from casebridge.stats.monthly import MEASURES
    from casebridge.stats.schemas import BREAKDOWNS

    assert {b for m in MEASURES.values() for b in m.breakdowns} == set(BREAKDOWNS)
