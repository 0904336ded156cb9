"""The heat page in a real Chromium: the map draws, colours follow the level, updates live."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from collector.store import Store
from machimori.contract.wbgt import COLOURS, NO_DATA_COLOUR
from sim.town import build_town

from .harness import Collector
from .test_collector import T, summary

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def web(tmp_path: Path):
    db = tmp_path / "c.sqlite"
    st = Store(db)
    st.ingest([summary(1, device="heat-001", end=T + 60, wbgt=24.0, level=1),
               summary(2, device="heat-002", end=T + 60, wbgt=31.5, level=4)])
    basemap = tmp_path / "basemap.geojson"
    basemap.write_text(json.dumps(build_town(1).basemap()))
    # Web only: the page reads the database; the broker URL is not used with --no-ingest.
    web = Collector(tmp_path, "mqtt://127.0.0.1:1", db=str(db),
                    extra_args=("--no-ingest", "--basemap", str(basemap))).start()
    try:
        yield web.base, st
    finally:
        web.stop()
        st.close()


def test_heat_map_live_in_chromium(web, tmp_path: Path) -> None:
    base, store = web
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/heat")
            page.wait_for_selector("path.sensor[data-id='heat-002']", timeout=15_000)
            assert page.locator("path.street").count() > 5  # the basemap is drawn
            fill = page.get_attribute("path.sensor[data-id='heat-002']", "fill")
            assert fill == COLOURS[4]
            assert page.get_attribute("path.sensor[data-id='heat-001']", "fill") == COLOURS[1]
            # Both sensors stand on one spot: click the one asked for, not whichever is on top.
            page.locator("path.sensor[data-id='heat-002']").dispatch_event("click")
            # (expect() polls from outside the page: the page's CSP forbids eval'd predicates)
            expect(page.locator("#d-wbgt")).to_have_text("31.5")
            assert "危険" in page.inner_text("#detail")
            # A new window arrives: the map changes without a reload.
            store.ingest([summary(3, device="heat-001", end=T + 120, wbgt=29.0, level=3)])
            expect(page.locator("path.sensor[data-id='heat-001']")).to_have_attribute(
                "fill", COLOURS[3], timeout=15_000)
            assert page.locator("#trend polyline.line-mean").count() == 1
            # Layers: surface temperature on a colour ramp, then sun and shade.
            page.click("button[data-layer=surface]")
            assert page.is_visible("#legend-ramp") and not page.is_visible("#legend-wbgt")
            assert page.get_attribute("path.sensor[data-id='heat-002']", "fill") not in COLOURS
            assert page.inner_text("#ramp-title").startswith("表面温度")
            page.click("button[data-layer=sun]")
            assert page.get_attribute("path.sensor[data-id='heat-002']", "fill") == NO_DATA_COLOUR
            page.click("button[data-layer=wbgt]")
            page.screenshot(path=str(tmp_path / "heat.png"), full_page=True)
            assert (tmp_path / "heat.png").stat().st_size > 10_000
            page.goto(base + "/heat?lang=en")
            page.wait_for_selector("path.sensor[data-id='heat-002']", timeout=15_000)
            assert "Heat (WBGT) map" in page.inner_text("h1")
        finally:
            browser.close()
