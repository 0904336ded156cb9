"""The heat map and the residents' page in a real Chromium, against a real collector.

Screenshots of every page at phone and desktop width are kept in test-artifacts/screenshots/
(gitignored) for a reviewer to open. The page's Content-Security-Policy is live throughout:
any violation it reports fails the test.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Page, expect, sync_playwright

from collector.store import Store
from machimori.contract.wbgt import LEVELS, NO_DATA_COLOUR
from machimori.procs import free_port, wait_for

from .harness import Collector
from .heat_town import SILENT, town_summaries

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@contextmanager
def chromium() -> Iterator[Any]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


def watch(page: Page) -> list[str]:
    """Collect CSP violations and script errors the page reports."""
    problems: list[str] = []
    page.set_default_timeout(15_000)
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    return problems


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


class TileServer:
    """A local XYZ tile server: answers every tile with one small PNG and records the paths."""

    def __init__(self) -> None:
        png = (REPO / "collector" / "static" / "residents-icon-192.png").read_bytes()
        self.paths: list[str] = []
        seen = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/pale/{{z}}/{{x}}/{{y}}.png"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tile_url: str,
              names: dict[str, str] | None = None) -> tuple[Collector, Any, list]:
    """A web-only collector over six hours of the simulated town."""
    town, items = town_summaries(names=names)
    db = tmp_path / "c.sqlite"
    st = Store(db)
    st.ingest(items)
    st.close()
    basemap = tmp_path / "basemap.geojson"
    basemap.write_text(json.dumps(town.basemap()))
    monkeypatch.setenv("MACHIMORI_TILE_URL", tile_url)
    web = Collector(tmp_path, "mqtt://127.0.0.1:1", db=str(db),
                    extra_args=("--no-ingest", "--basemap", str(basemap))).start()
    return web, town, [json.loads(raw) for _, raw in items]


def closed_port_tiles() -> str:
    """Tiles that cannot load, as with no network: connection refused on a free port."""
    return f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"


@pytest.fixture
def offline_web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    web, town, bodies = start_web(tmp_path, monkeypatch, closed_port_tiles())
    try:
        yield web, town, bodies
    finally:
        web.stop()


def newest_by_device(bodies: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for b in bodies:
        if b["device"] not in out or b["end"] > out[b["device"]]["end"]:
            out[b["device"]] = b
    return out


def test_heat_map_offline_base_levels_stale_and_sensor_link(offline_web) -> None:
    web, town, bodies = offline_web
    newest = newest_by_device(bodies)
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        problems = watch(page)
        page.goto(web.base + "/heat?sensor=heat-003")
        page.wait_for_selector("path.sensor[data-id='heat-030']", state="attached", timeout=20_000)
        # No tiles: the town's streets are the base, and the page says so.
        expect(page.locator("#offline-note")).to_be_visible(timeout=15_000)
        assert page.locator("path.street").count() == len(town.basemap()["features"])
        assert page.locator(".leaflet-tile-container img").count() == 0
        # Every fresh sensor wears its level's colour; the silent one is grey with its age.
        for dev, b in newest.items():
            el = page.locator(f"path.sensor[data-id='{dev}']")
            want = NO_DATA_COLOUR if dev == SILENT else LEVELS[b["wbgt_level"]].colour
            assert el.get_attribute("fill") == want, dev
        assert "stale" in page.get_attribute(f"path.sensor[data-id='{SILENT}']", "class")
        assert "60分前" in page.get_attribute(f"path.sensor[data-id='{SILENT}']", "aria-label")
        assert page.inner_text("#stale-count") == "1"
        # ?sensor=heat-003 opened that sensor: its name, level and its own chart.
        b = newest["heat-003"]
        expect(page.locator("#d-name")).to_have_text(b["place"]["name"])
        assert page.inner_text("#d-wbgt") == f"{b['values']['wbgt_c']['mean']:.1f}"
        assert page.inner_text("#d-level") == LEVELS[b["wbgt_level"]].ja
        line = page.locator("#sensor-chart path.line-wbgt")
        expect(line).to_have_attribute("d", re.compile("^M"))
        assert line.get_attribute("d").count("L") == 35  # one point per window: 36 windows
        # The interpolated surface lies under the sensors.
        expect(page.locator("img.heat-surface")).to_have_count(1)
        shot(page, "heat-desktop-ja")
        # Picking another sensor by keyboard opens it and puts it in the address.
        page.focus("path.sensor[data-id='heat-010']")
        page.keyboard.press("Enter")
        expect(page.locator("#d-id")).to_have_text("heat-010")
        assert page.url.endswith("sensor=heat-010")
        assert problems == []


def test_heat_map_layers_and_time_slider(offline_web) -> None:
    web, _, bodies = offline_web
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        problems = watch(page)
        page.goto(web.base + "/heat")
        page.wait_for_selector("path.sensor[data-id='heat-001']", state="attached", timeout=20_000)
        expect(page.locator("#time-slider")).to_be_enabled(timeout=15_000)
        # Surface temperature on a ramp, then sun and shade from the detectors' state.
        page.click("button[data-layer=surface]")
        assert page.is_visible("#legend-ramp") and not page.is_visible("#legend-wbgt")
        assert page.get_attribute("button[data-layer=surface]", "aria-pressed") == "true"
        newest = newest_by_device(bodies)
        sun = {"sun": "#f4b400", "shade": "#3f51b5"}
        page.click("button[data-layer=sun]")
        for dev in ("heat-001", "heat-002", "heat-004"):
            want = sun[newest[dev]["state"]["sun"]]
            assert page.get_attribute(f"path.sensor[data-id='{dev}']", "fill") == want
        # The town's streets and buildings feed the shade model: its layer colours every
        # placed sensor in the sun or in the shade the model computes for now.
        assert page.is_enabled("button[data-layer=modelled_shade]")
        page.click("button[data-layer=modelled_shade]")
        fills = {page.get_attribute(f"path.sensor[data-id='{d}']", "fill")
                 for d in ("heat-001", "heat-002", "heat-004")}
        assert fills <= set(sun.values())
        page.click("button[data-layer=wbgt]")
        # Back to the first window of the six hours: the silent sensor was still reporting.
        page.focus("#time-slider")
        page.keyboard.press("Home")
        first = min(b["end"] for b in bodies)
        expect(page.locator("#time-label")).not_to_have_text("自動更新中")
        expect(page.locator(f"path.sensor[data-id='{SILENT}']")).not_to_have_attribute(
            "fill", NO_DATA_COLOUR)
        then = next(b for b in bodies if b["device"] == SILENT and b["end"] == first)
        assert page.get_attribute(f"path.sensor[data-id='{SILENT}']", "fill") == \
            LEVELS[then["wbgt_level"]].colour
        shot(page, "heat-history-desktop-ja")
        page.click("#time-live")
        expect(page.locator(f"path.sensor[data-id='{SILENT}']")).to_have_attribute(
            "fill", NO_DATA_COLOUR)
        expect(page.locator("#time-label")).to_have_text("自動更新中")
        assert problems == []


def test_heat_map_on_a_phone_in_english(offline_web) -> None:
    web, _, _ = offline_web
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        problems = watch(page)
        page.goto(web.base + "/heat?lang=en&sensor=heat-007")
        page.wait_for_selector("path.sensor[data-id='heat-007']", state="attached", timeout=20_000)
        expect(page.locator("#d-id")).to_have_text("heat-007")
        assert "Heat (WBGT) map" in page.inner_text("h1")
        assert "severe warning" in page.inner_text("#legend-wbgt")
        # The page fits the phone: nothing wider than the screen.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        shot(page, "heat-phone-en")
        page.goto(web.base + "/heat?lang=ja")
        page.wait_for_selector("path.sensor[data-id='heat-007']", state="attached", timeout=20_000)
        shot(page, "heat-phone-ja")
        assert problems == []


def test_tiles_load_from_the_configured_url(tmp_path: Path, monkeypatch) -> None:
    with TileServer() as tiles:
        web, _, _ = start_web(tmp_path, monkeypatch, tiles.url)
        try:
            with chromium() as browser:
                page = browser.new_page(viewport=DESKTOP)
                problems = watch(page)
                page.goto(web.base + "/heat")
                page.wait_for_selector("path.sensor[data-id='heat-001']", state="attached", timeout=20_000)
                wait_for(lambda: len(tiles.paths) >= 4, 15, "tile requests")
                expect(page.locator(".leaflet-tile-loaded").first).to_be_visible(timeout=15_000)
                assert page.is_hidden("#offline-note")
                assert all(p.startswith("/pale/") and p.endswith(".png") for p in tiles.paths)
                z = {int(p.split("/")[2]) for p in tiles.paths}
                assert z and all(14 <= k <= 18 for k in z)  # a town's zoom
                assert page.inner_text("#tile-attribution") == "地理院タイル"
                assert problems == []  # the CSP lets the configured tile host through
        finally:
            web.stop()


HOSTILE = ['<img src=x onerror="window.__pwned=1">',
           '</script><script>window.__pwned=2</script>']


def test_hostile_place_names_from_a_gateway_render_as_text(tmp_path: Path, mosquitto) -> None:
    """Through the real path: a gateway's summary on Mosquitto → collector ingest → pages."""
    web = Collector(tmp_path, mosquitto.url).start()
    try:
        _, items = town_summaries(hours=0.5, names={"heat-001": HOSTILE[0],
                                                    "heat-002": HOSTILE[1]})
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-hostile")
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        try:
            for topic, payload in items:
                pub.publish(topic, payload, qos=1).wait_for_publish(5)
        finally:
            pub.loop_stop()
            pub.disconnect()
        devices = {json.loads(raw)["device"] for _, raw in items}
        wait_for(lambda: len(web.get("/api/v1/sensors")["sensors"]) == len(devices), 30,
                 "the collector to ingest every sensor")
        names = {s["id"]: s["name"] for s in web.get("/api/v1/sensors")["sensors"]}
        assert names["heat-001"] == HOSTILE[0] and names["heat-002"] == HOSTILE[1]
        with chromium() as browser:
            page = browser.new_page(viewport=DESKTOP)
            problems = watch(page)
            for dev, name in (("heat-001", HOSTILE[0]), ("heat-002", HOSTILE[1])):
                page.goto(web.base + f"/heat?sensor={dev}")
                page.wait_for_selector(f"path.sensor[data-id='{dev}']", state="attached", timeout=20_000)
                expect(page.locator("#d-name")).to_have_text(name)  # the literal text
                tip = page.locator(".leaflet-tooltip", has_text=name)
                expect(tip).to_have_count(1)
                assert page.locator("img[src=x]").count() == 0
                assert page.locator("main script:not([src])").count() == 0
                assert page.evaluate("window.__pwned") is None
            shot(page, "heat-hostile-name-desktop")
            page.goto(web.base + "/residents")
            page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
            options = page.locator("#place option").all_inner_texts()
            assert HOSTILE[0] in options and HOSTILE[1] in options
            page.select_option("#place", "heat-001")
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            assert page.inner_text("#r-sensor") == HOSTILE[0]
            assert page.locator("img[src=x]").count() == 0
            assert page.evaluate("window.__pwned") is None
            assert problems == []
    finally:
        web.stop()


# ---- the residents' page

COOLSPOTS = {"items": [
    {"id": "cs-001", "name": "市民図書館", "lat": 36.1500, "lon": 139.3900, "kind": "shelter",
     "open": True},
    {"id": "cs-002", "name": "閉まっている公民館", "lat": 36.1480, "lon": 139.3887,
     "kind": "shelter", "open": False},
]}


def route_between(a: tuple[float, float], b: tuple[float, float]) -> dict:
    mid = [b[1], a[0]]
    cool = {"length_m": 640.0, "sun_m": 90.0, "geometry": {
        "type": "LineString", "coordinates": [[a[1], a[0]], mid, [b[1], b[0]]]}}
    short = {"length_m": 520.0, "sun_m": 380.0, "geometry": {
        "type": "LineString", "coordinates": [[a[1], a[0]], [b[1], b[0]]]}}
    return {"shortest": short, "cool": cool}


def nearest_node(town, lat: float, lon: float):
    return min(town.nodes, key=lambda n: (n.lat - lat) ** 2 + (n.lon - lon) ** 2)


def test_residents_page_without_coolspots_or_routes(offline_web) -> None:
    """Cool spots and routes are not served (404, as by a collector without the registry): the
    level still shows, the rest says so."""
    web, town, bodies = offline_web
    node = town.nodes[5]
    newest = newest_by_device(bodies)[node.id]
    with chromium() as browser:
        ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  geolocation={"latitude": node.lat, "longitude": node.lon},
                                  permissions=["geolocation"])
        page = ctx.new_page()
        for pattern in ("**/api/v1/coolspots*", "**/api/v1/route*"):
            page.route(pattern, lambda route: route.fulfill(
                status=404, content_type="application/json",
                body='{"error": "not_found", "message": "not here"}'))
        problems = watch(page)
        page.goto(web.base + "/residents")
        page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
        # Keyboard only: Tab to the location button, Enter.
        page.locator("#use-location").focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        lv = LEVELS[newest["wbgt_level"]]
        assert page.inner_text("#r-level") == lv.ja and page.inner_text("#r-level-other") == lv.en
        assert page.inner_text("#r-wbgt") == f"{newest['values']['wbgt_c']['mean']:.1f}"
        assert page.inner_text("#r-advice") == lv.advice_ja
        assert page.inner_text("#r-sensor") == node.name
        expect(page.locator("#cool-none")).to_have_text("涼み処の情報はまだありません")
        assert page.is_hidden("#res-map")
        shot(page, "residents-phone-ja-no-coolspots")
        assert problems == []


def test_residents_page_nearest_open_spot_and_cool_route(offline_web) -> None:
    """Cool spots and routes as heat-geo serves them (their documented shapes)."""
    web, town, _ = offline_web
    here = (36.1473, 139.3886)
    asked: list[str] = []

    def coolspots(route) -> None:
        asked.append(route.request.url)
        route.fulfill(json=COOLSPOTS)

    def routes(route) -> None:
        asked.append(route.request.url)
        route.fulfill(json=route_between(here, (36.15, 139.39)))

    with chromium() as browser:
        for viewport, lang, name in ((PHONE, "ja", "residents-phone-ja"),
                                     (PHONE, "en", "residents-phone-en"),
                                     (DESKTOP, "ja", "residents-desktop-ja")):
            ctx = browser.new_context(viewport=viewport, geolocation={
                "latitude": here[0], "longitude": here[1]}, permissions=["geolocation"])
            page = ctx.new_page()
            problems = watch(page)
            page.route("**/api/v1/coolspots?*", coolspots)
            page.route("**/api/v1/route?*", routes)
            page.goto(web.base + f"/residents?lang={lang}")
            page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
            page.click("#use-location")
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            assert page.inner_text("#c-name") == "市民図書館"  # the closed one is nearer
            expect(page.locator("path.route-cool")).to_have_count(1)
            expect(page.locator("path.route-shortest")).to_have_count(1)
            summary = page.inner_text("#route-summary")
            assert "640" in summary and "90" in summary and "520" in summary and "380" in summary
            expect(page.locator("#res-offline")).to_be_visible(timeout=15_000)
            node = nearest_node(town, *here)
            assert page.inner_text("#r-sensor") == node.name
            shot(page, name)
            assert problems == []
            ctx.close()
    assert any("/api/v1/route?from=36.147300,139.388600&to=36.150000,139.390000" in u
               for u in asked)
    assert any("/api/v1/coolspots?at=" in u for u in asked)


def test_residents_page_is_installable(offline_web) -> None:
    web, _, _ = offline_web
    manifest = web.get("/residents/manifest.webmanifest")
    assert manifest["start_url"] == "/residents" and manifest["display"] == "standalone"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        problems = watch(page)
        page.goto(web.base + "/residents")
        page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
        scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == web.base + "/residents"
        # The service worker keeps the page: it opens with the collector unreachable.
        page.reload()
        page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
        page.context.set_offline(True)
        page.reload()
        expect(page.locator("h1")).to_have_text("いま、ここの暑さ")
        page.context.set_offline(False)
        assert problems == []


def test_residents_and_heat_pages_pass_axe(offline_web) -> None:
    """axe-core (npm) injected into each page: no accessibility violations."""
    web, _, _ = offline_web
    axe = REPO / "node_modules" / "axe-core" / "axe.min.js"
    assert axe.exists(), "npm install (./bin/test) provides axe-core"
    with chromium() as browser:
        # Injecting axe is an inline script: this one context lets it past the page's CSP.
        ctx = browser.new_context(viewport=PHONE, bypass_csp=True, geolocation={
            "latitude": 36.1473, "longitude": 139.3886}, permissions=["geolocation"])
        page = ctx.new_page()
        page.route("**/api/v1/coolspots?*", lambda r: r.fulfill(json=COOLSPOTS))
        page.route("**/api/v1/route?*", lambda r: r.fulfill(
            json=route_between((36.1473, 139.3886), (36.15, 139.39))))
        for url, ready in (("/residents", "body[data-loaded='1']"),
                           ("/residents?lang=en", "body[data-loaded='1']"),
                           ("/heat?sensor=heat-003", "#detail-body:not([hidden])"),
                           ("/heat?lang=en", "path.sensor")):
            page.goto(web.base + url)
            page.wait_for_selector(ready, timeout=20_000)
            if url.startswith("/residents"):
                page.click("#use-location")
                page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            page.add_script_tag(path=str(axe))
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            assert len(result["passes"]) > 10  # axe ran its rules on the page
            found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                     for v in result["violations"]]
            assert found == [], (url, found)
        ctx.close()
