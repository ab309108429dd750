"""The public page in a real headless Chromium (Debian's `chromium`, driven by Playwright with
the system browser; never `playwright install`): it renders, the chart is visible, the
numbers on the page equal the API's, and text and bars meet WCAG 2.2 AA contrast. The
screenshot is kept in var/test-artefacts/. A missing chromium fails the test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.async_api import async_playwright
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.common.db import make_sessionmaker
from casebridge.devstack import free_port
from casebridge.stats.main import create_app
from casebridge.stats.routes.deps import today
from casebridge.stats.settings import Settings
from casebridge.testing.harness import trust
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

from .conftest import TODAY
from .events import Deliverer, Review, at, complaint, envelope

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artefacts"
FOUR = ("applications", "threshold_not_met", "reviews_carried_out", "reviews_with_recommendations")

# Every element with text of its own: its colour, its background (the nearest one painted),
# its font size and weight.
TEXT_COLOURS = """
() => [...document.querySelectorAll('body *')]
  .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .filter(e => e.getClientRects().length && !e.closest('.skip'))
  .map(e => {
    let b = e, bg = 'rgba(0, 0, 0, 0)';
    while (b && (bg = getComputedStyle(b).backgroundColor) === 'rgba(0, 0, 0, 0)')
      b = b.parentElement;
    const s = getComputedStyle(e);
    const colour = e instanceof SVGElement ? s.fill : s.color;
    return [e.tagName, colour, bg, parseFloat(s.fontSize), parseInt(s.fontWeight)];
  })
"""


def luminance(colour: str) -> float:
    parts = colour[colour.index("(") + 1 : colour.index(")")].split(",")
    channels = [int(float(p)) / 255 for p in parts[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@asynccontextmanager
async def served(settings: Settings, tokens: TokenFactory) -> AsyncIterator[str]:
    app = create_app(settings)
    app.dependency_overrides[today] = lambda: TODAY
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + 20
    while not server.started:
        assert not task.done(), "the stats API did not start"
        assert asyncio.get_running_loop().time() < deadline, "the stats API did not start"
        await asyncio.sleep(0.05)
    trust(app, tokens, settings)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=20)


async def seed(url: str, area: uuid.UUID) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    deliver = Deliverer(make_sessionmaker(engine))
    reviews = [Review(area) for _ in range(9)]
    days = ("-01T10:00", "-05T10:00", "-20T10:00", "-25T10:00")
    events = [
        *reviews[0].carried_out(*(f"2024-06{d}" for d in days)),
        *reviews[1].carried_out(*(f"2025-05{d}" for d in days)),
        *reviews[2].carried_out(*(f"2025-08{d}" for d in days)),
        *(r.applied("2025-10-01T10:00", automatic=True) for r in reviews[3:6]),
        *(r.decided("2025-10-08T10:00", met=False) for r in reviews[3:5]),
        *(r.applied("2026-06-01T10:00") for r in reviews[6:9]),
        reviews[6].decided("2026-06-03T10:00", met=True),
        reviews[6].held("2026-07-03T10:00"),
        *(envelope(complaint(area, reported_at=at("2025-10-01T10:00")), area) for _ in range(30)),
        *(envelope(complaint(area, asb_type="fireworks", nsir_category="nuisance",
                             reported_at=at("2025-11-05T20:00")), area) for _ in range(2)),
    ]  # fmt: skip
    await deliver(*events)
    await engine.dispose()


async def page_figures(page: Any, table: str) -> dict[tuple[str, str], int]:
    cells = await page.eval_on_selector_all(
        f"#{table} td[data-measure]",
        "cells => cells.map(c => [c.dataset.period, c.dataset.measure, c.innerText])",
    )
    return {(p, m): int(text.replace(",", "")) for p, m, text in cells}


async def test_the_public_page_in_chromium(
    migrated_database: MigratedDatabase, tokens: TokenFactory
) -> None:
    assert await asyncio.to_thread(CHROMIUM.exists), (
        "Debian's chromium is missing: `make install` installs it when run as root "
        "(apt-get install chromium)"
    )
    url = await migrated_database("stats")
    area = uuid.uuid4()
    await seed(url, area)
    settings = Settings(database_url=url, log_json=False, area_names={"DMO": "Demo CSP"})
    headers = tokens.headers(
        scopes=["stats:read"], agency_id=uuid.uuid4(), area_id=area,
        audience=settings.audience_or_default(),
    )  # fmt: skip
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "stats-public-page.png"
    async with served(settings, tokens) as base, async_playwright() as playwright:
        async with httpx.AsyncClient(base_url=base, headers=headers) as api:
            years = (await api.get("/stats/case-reviews")).json()["rows"]
            quarters = (await api.get("/stats/case-reviews?period=quarter")).json()["rows"]
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 900})
            response = await page.goto(f"{base}/public/DMO/case-reviews")
            assert response is not None
            assert response.status == 200
            assert await page.inner_text("h1") == "Anti-social behaviour Case Reviews: the figures"
            chart = page.locator("svg#chart")
            assert await chart.is_visible()
            box = await chart.bounding_box()
            assert box is not None
            assert box["width"] > 400
            assert box["height"] > 200
            bars = await page.eval_on_selector_all(
                "svg#chart rect.bar",
                "bars => bars.map(b => [b.dataset.value, b.getBoundingClientRect().height])",
            )
            assert len(bars) == len(years) * 4
            assert all(float(h) > 0 for v, h in bars if int(v) > 0)
            assert sum(int(v) for v, _ in bars) == sum(r[m] for r in years for m in FOUR) > 0
            shown_years = await page_figures(page, "years-table")
            assert shown_years == {(r["period"], m): r[m] for r in years for m in FOUR}
            shown_quarters = await page_figures(page, "quarters-table")
            assert shown_quarters == {(r["period"], m): r[m] for r in quarters for m in FOUR}
            assert "<5" in await page.inner_text("#complaints-table")
            texts = await page.evaluate(TEXT_COLOURS)
            assert len(texts) > 50
            for tag, colour, background, size, weight in texts:
                large = size >= 24 or (size >= 18.66 and weight >= 700)
                needed = 3.0 if large else 4.5
                ratio = contrast(colour, background)
                assert ratio >= needed, (tag, colour, background, ratio)
            fills = await page.eval_on_selector_all(
                "svg#chart rect.bar", "bars => bars.map(b => getComputedStyle(b).fill)"
            )
            assert all(contrast(fill, "rgb(255, 255, 255)") >= 3.0 for fill in fills)
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await browser.close()
    assert shot.stat().st_size > 10_000
    print(f"\nscreenshot of the public page: {shot}")
