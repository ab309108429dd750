"""The quarterly data return for the Home Office and the PCC: fixed shape, documented columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from casebridge.stats.complaints import ASB_TYPES, NSIR_QUALIFIERS
from casebridge.stats.datareturn import COLUMNS

from .conftest import Stats
from .events import Review, at, complaint, envelope

DOCS = Path(__file__).resolve().parents[3] / "docs" / "stats.md"


async def test_the_return_has_the_four_counts_and_every_category_cell(stats: Stats) -> None:
    review = Review(stats.area)
    await stats.deliver(
        *review.carried_out(
            "2026-04-02T10:00", "2026-04-10T10:00", "2026-05-01T10:00", "2026-05-02T10:00"
        ),
        envelope(complaint(stats.area, reported_at=at("2026-06-30T22:59")), stats.area),
        envelope(complaint(stats.area, reported_at=at("2026-06-30T23:00")), stats.area),  # Q2
        envelope(complaint(stats.area, reference="DMO-2026-000002-3", asb_type="begging",
                           nsir_category="nuisance", reported_at=at("2026-05-01T10:00")),
                 stats.area),
    )  # fmt: skip
    response = await stats.client.get(
        "/stats/data-return", params={"quarter": "2026-27-Q1"}, headers=stats.auth()
    )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert len(rows) == 4 + (len(NSIR_QUALIFIERS) + 1) * (len(ASB_TYPES) + 1)
    cell = {(r["measure"], r["nsir_category"], r["asb_type"]): r["value"] for r in rows}
    assert cell[("applications", "all", "all")] == 1
    assert cell[("reviews_carried_out", "all", "all")] == 1
    assert cell[("reviews_with_recommendations", "all", "all")] == 1
    assert cell[("threshold_not_met", "all", "all")] == 0
    assert cell[("complaints", "personal", "noise")] == 1
    assert cell[("complaints", "nuisance", "begging")] == 1
    assert cell[("complaints", "all", "all")] == 2
    assert {r["quarter"] for r in rows} == {"Q1"}
    assert {r["financial_year"] for r in rows} == {"2026-27"}


async def test_the_csv_columns_are_the_documented_ones(stats: Stats) -> None:
    response = await stats.client.get(
        "/stats/data-return", params={"format": "csv"}, headers=stats.auth()
    )
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == list(COLUMNS)
    first = next(reader)
    assert (first["financial_year"], first["quarter"]) == ("2026-27", "Q2")  # last complete
    documented = DOCS.read_text()
    for column in COLUMNS:
        assert f"`{column}`" in documented, f"{column} is not documented in docs/stats.md"


async def test_a_bad_quarter_is_refused(stats: Stats) -> None:
    for quarter, reason in (
        ("2026-Q1", "pattern"),
        ("2026-28-Q1", "YYYY-YY-Qn"),
        ("2026-27-Q5", "pattern"),
    ):
        response = await stats.client.get(
            "/stats/data-return", params={"quarter": quarter}, headers=stats.auth()
        )
        assert response.status_code == 422
        assert "query.quarter" in response.text
        assert reason in response.text
