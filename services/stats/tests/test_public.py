"""The public page: no token, the four totals as they are, breakdowns suppressed."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

from .conftest import Stats
from .events import Review, at, complaint, envelope


class Cells(HTMLParser):
    """The page's figures by (table id, period, measure) and every cell's text by table."""

    def __init__(self) -> None:
        super().__init__()
        self.table: str | None = None
        self.cell: tuple[str, str] | None = None
        self.figures: dict[tuple[str, str, str], str] = {}
        self.texts: dict[str, list[str]] = {}
        self._in_td = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.table = found.get("id")
        if tag == "td":
            self._in_td = True
            period, measure = found.get("data-period"), found.get("data-measure")
            self.cell = (period, measure) if period and measure else None

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_td = False

    def handle_data(self, data: str) -> None:
        if self._in_td and self.table and data.strip():
            self.texts.setdefault(self.table, []).append(data.strip())
            if self.cell:
                self.figures[(self.table, *self.cell)] = data.strip()


async def seed(stats: Stats) -> None:
    """2025-26: three reviews (one applicant-started of three: a small number), and
    complaints of which three are fireworks (small) and twelve noise."""
    reviews = [Review(stats.area) for _ in range(3)]
    await stats.deliver(
        *reviews[0].carried_out(
            "2025-05-01T10:00", "2025-05-10T10:00", "2025-06-02T10:00", "2025-06-20T10:00"
        ),
        reviews[1].applied("2025-07-01T10:00", automatic=True),
        reviews[1].decided("2025-07-08T10:00", met=False),
        reviews[2].applied("2026-10-01T10:00", automatic=True),
        *(envelope(complaint(stats.area, reported_at=at("2025-10-01T10:00")), stats.area)
          for _ in range(12)),
        *(envelope(complaint(stats.area, asb_type="fireworks", reported_at=at("2025-11-05T20:00")),
                   stats.area) for _ in range(3)),
    )  # fmt: skip


async def test_the_page_shows_the_apis_numbers_without_a_token(stats: Stats) -> None:
    await seed(stats)
    page = await stats.client.get("/public/DMO/case-reviews")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "public, max-age=300"
    cells = Cells()
    cells.feed(page.text)
    api = (await stats.client.get("/stats/case-reviews", headers=stats.auth())).json()
    for row in api["rows"]:
        for measure in ("applications", "threshold_not_met", "reviews_carried_out",
                        "reviews_with_recommendations"):  # fmt: skip
            shown = cells.figures[("years-table", row["period"], measure)]
            assert int(shown.replace(",", "")) == row[measure], (row["period"], measure)
    quarters = (
        await stats.client.get(
            "/stats/case-reviews", params={"period": "quarter"}, headers=stats.auth()
        )
    ).json()
    for row in quarters["rows"]:
        assert cells.figures[("quarters-table", row["period"], "applications")] == str(
            row["applications"]
        )
    for part in ("<h1>", "<svg", 'lang="en-GB"', "<caption>"):
        assert part in page.text
    assert "Demo CSP" in page.text


async def test_breakdowns_are_suppressed_but_the_totals_are_not(stats: Stats) -> None:
    await seed(stats)
    page = await stats.client.get(f"/public/{stats.area}/case-reviews")
    cells = Cells()
    cells.feed(page.text)
    assert cells.figures[("years-table", "2025-26", "applications")] == "2"  # statutory: as is
    routes = cells.texts["routes-table"]
    assert "<5" in routes
    complaints = cells.texts["complaints-table"]
    assert "3" not in complaints  # the three fireworks complaints are never shown as 3
    assert complaints.count("<5") >= 2  # fireworks and a complement beside it
    assert "15" in complaints or "<5" in complaints[-1]


async def test_the_page_holds_no_ids(stats: Stats) -> None:
    await seed(stats)
    page = await stats.client.get("/public/dmo/case-reviews")
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", page.text)


async def test_unknown_and_malformed_areas(stats: Stats) -> None:
    assert (await stats.client.get("/public/XYZ/case-reviews")).status_code == 404
    assert (await stats.client.get(f"/public/{uuid.uuid4()}/case-reviews")).status_code == 404
    bad = await stats.client.get("/public/D%00X/case-reviews")
    assert bad.status_code == 422
