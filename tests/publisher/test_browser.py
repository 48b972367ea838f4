"""A real browser: Debian's headless Chromium (driven by playwright, never downloaded) loads the built site
from a loopback server that applies the site's own _headers (strict CSP), and finds the content rendered
with no console errors. Saves a screenshot to build/artifacts/publisher-home.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher import preview
from publisher.build import build_site

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "build" / "artifacts" / "publisher-home.png"

pytestmark = pytest.mark.browser


@pytest.fixture
def site(duckdb_db, publish_at, config, tmp_path):
    import random

    from publisher_ledger_kit import LedgerKit, seed_history

    seed_history(LedgerKit(duckdb_db, secret="browser"), publish_at, random.Random(3))
    root = tmp_path / "site"
    build_site(duckdb_db, config, publish_at, root)
    server = preview.start(root)
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_home_page_renders_in_chromium(site):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is required for the browser test (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        # (a request cut short by the next navigation is ERR_ABORTED: not a fault of the page)
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}")
                if "ERR_ABORTED" not in (r.failure or "") else None)
        page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
        page.goto(site + "index.html", wait_until="load")
        assert page.locator(".kpi").count() == 4
        assert page.locator(".city-card").count() == 10
        assert "delayed by 60 minutes" in page.locator(".delay-notice").inner_text()
        chart = page.locator("img.chart")
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
        # the grid is 5 wide on a desktop
        tops = page.locator(".city-card").evaluate_all("cards => cards.map(c => Math.round(c.getBoundingClientRect().top))")
        assert len(set(tops)) == 2
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        for path in ("trades/index.html", "cities/nyc.html", "methodology.html", "health.html"):
            page.goto(site + path, wait_until="load")
            assert page.locator("main h1").count() == 1
        page.set_viewport_size({"width": 400, "height": 900})
        page.goto(site + "index.html", wait_until="load")
        lefts = page.locator(".city-card").evaluate_all("cards => cards.map(c => Math.round(c.getBoundingClientRect().left))")
        assert len(set(lefts)) == 1   # one column on a phone
        browser.close()
    assert problems == []
