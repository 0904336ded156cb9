"""The responders' app in a real Chromium on a phone-sized screen: a family member sees only
their person's alerts, opens the timeline and the last-seen place, and acknowledges; the
person API refuses anyone not assigned; a name shown is an audit row."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from collector.app import create_app
from collector.store import Store
from collector.users import add_token, add_user
from collector.watch import crypto
from collector.watch.engine import Settings
from collector.watch.people import (
    add_household,
    add_person,
    add_responder,
    assign,
    link_device,
)
from collector.watch.state import cycle
from sim.town import build_town

from .harness import Collector

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"
# Alerts raised in the test happen "now": never hold them for quiet hours here.
ALWAYS = Settings(quiet_start_min=0, quiet_end_min=0)


def town(db: str) -> Store:
    st = Store(db)
    keys = crypto.load(None, db)
    now = time.time()
    add_household(st.db, keys, "h1", "青梅市本町1-2-3", now)
    add_person(st.db, keys, "person-001", "山田 花子", now, household="h1")
    add_person(st.db, keys, "person-002", "鈴木 一郎", now)
    link_device(st.db, "tag-001", "tag", now, person="person-001")
    link_device(st.db, "tag-002", "tag", now, person="person-002")
    link_device(st.db, "meter-001", "meter", now, household="h1")
    fam = add_responder(st.db, keys, "山田 太郎", 1, "family", now, username="taro",
                        phone_number="090-0000-0001")
    pro = add_responder(st.db, keys, "佐藤", 2, "minsei", now, username="sato")
    assign(st.db, "person-001", fam)
    for p in ("person-001", "person-002"):
        assign(st.db, p, pro)
    add_user(st.db, "taro", PASSWORD, "family")
    add_user(st.db, "sato", PASSWORD, "responder")
    add_user(st.db, "plan", PASSWORD, "planner")
    stat = lambda v: {"mean": v, "min": v, "max": v, "last": v}
    msgs = []
    for i, (kind, device, extra) in enumerate([
            ("sos", "tag-001", {}), ("night_wandering", "tag-001", {}),
            ("fall", "tag-002", {})], 1):
        msgs.append((f"machimori/v1/gw/gw-01/event/{kind}", json.dumps({
            "schema": "machimori/event/1", "id": f"gw-01:{i}", "gw": "gw-01", "seq": i,
            "kind": kind, "device": device, "ts": now - 600 * i, "priority": 3,
            "data": extra}).encode()))
    for j in range(4):
        seq = 10 + j
        msgs.append(("machimori/v1/gw/gw-02/summary/presence", json.dumps({
            "schema": "machimori/summary/1", "id": f"gw-02:{seq}", "gw": "gw-02", "seq": seq,
            "kind": "presence", "device": "tag-001", "start": now - 3600 * j - 60,
            "end": now - 3600 * j, "n": 4, "values": {"rssi": stat(-70.0)},
            "place": {"lat": 36.1473, "lon": 139.3886, "name": "駅前通り"}}).encode()))
    st.ingest(msgs, now=now)
    cycle(st.db, ALWAYS, now)
    return st


@pytest.fixture
def web(tmp_path: Path):
    db = str(tmp_path / "c.sqlite")
    st = town(db)
    basemap = tmp_path / "basemap.geojson"
    basemap.write_text(json.dumps(build_town(1).basemap()))
    col = Collector(tmp_path, "mqtt://127.0.0.1:1", db=db,
                    extra_args=("--no-ingest", "--basemap", str(basemap))).start()
    try:
        yield col, st
    finally:
        col.stop()
        st.close()


def login(page, base: str, user: str) -> None:
    page.goto(base + "/login?next=/watch/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("article.alert", timeout=15_000)


def test_family_member_sees_only_their_person_and_acknowledges(web, tmp_path: Path) -> None:
    col, _st = web
    shots = Path(os.environ.get("MACHIMORI_SCREENSHOTS", tmp_path))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844},
                                    device_scale_factor=2, is_mobile=True, has_touch=True)
            errors: list[str] = []
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            login(page, col.base, "taro")
            cards = page.locator("article.alert")
            assert cards.count() == 2
            text = page.inner_text("#alerts")
            assert "山田 花子" in text and "鈴木" not in text
            # by severity, then age: the SOS (immediate) first
            assert "SOS" in cards.nth(0).inner_text() and "緊急" in cards.nth(0).inner_text()
            assert "夜間の外出" in cards.nth(1).inner_text()
            # nobody runs the notifier here: the SMS to the family waits in the queue
            assert "送信済 0 件・送信待ち 1 件" in cards.nth(0).inner_text()
            page.screenshot(path=str(shots / "watch-app-alerts.png"), full_page=True)
            cards.nth(0).locator("button.who").click()
            page.wait_for_selector("#person h2.name")
            person = page.inner_text("#person")
            assert "山田 花子" in person and "青梅市本町1-2-3" in person
            assert "駅前通り" in person and "gw-02" in person
            assert page.locator("#person svg.minimap circle.seen").count() == 1
            assert page.locator("#person svg.minimap polyline.street").count() > 5
            assert "検知: SOS" in person and "gw-02 付近で確認" in person
            page.screenshot(path=str(shots / "watch-app-person.png"), full_page=True)
            page.click("button.back")
            page.locator("article.alert").nth(0).locator("input.note").fill("向かいます")
            page.locator("article.alert").nth(0).locator("button.acknowledge").click()
            # (the page's CSP forbids eval, so wait with locators, not JS predicates)
            page.locator("article.alert").nth(0).locator("p.state", has_text="対応中").wait_for()
            row = col.query("SELECT state, acked_by FROM watch_alerts WHERE cause = 'sos' "
                            "AND subject = 'person:person-001'")
            assert row == [("acknowledged", "user:taro")]
            note = col.query("SELECT note FROM watch_alert_log WHERE action = 'acknowledged'")
            assert note == [("向かいます",)]
            assert errors == []
            page.goto(col.base + "/watch/?lang=en")
            page.wait_for_selector("article.alert")
            first = page.locator("article.alert").nth(0).inner_text()
            assert "immediate" in first and "SOS" in first and "acknowledged" in first
            assert "out at night" in page.locator("article.alert").nth(1).inner_text()
            page.screenshot(path=str(shots / "watch-app-en.png"), full_page=True)
            # Installable: a manifest and a service worker in the app's scope.
            m = page.request.get(col.base + "/watch/manifest.webmanifest").json()
            assert m["start_url"] == "/watch/" and m["display"] == "standalone"
            if not page.context.service_workers:
                page.context.wait_for_event("serviceworker", timeout=15_000)
            assert page.context.service_workers[0].url.endswith("/watch/sw.js")
        finally:
            browser.close()
    audit = col.query("SELECT actor, action, person FROM watch_audit WHERE actor = 'taro'")
    assert ("taro", "view", "person-001") in audit
    assert all(a[2] == "person-001" for a in audit)


def test_person_api_refuses_the_unassigned(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    st = town(db)
    app = create_app({"DATABASE": db, "TESTING": True})
    c = app.test_client()
    tok = {r: add_token(st.db, r, r) for r in ("family", "responder", "planner")}
    # a family token is bound to no person: nothing
    h = lambda r: {"Authorization": f"Bearer {tok[r]}"}
    assert c.get("/api/v1/watch/persons/person-001", headers=h("family")).status_code == 404
    assert c.get("/api/v1/watch/persons/person-001", headers=h("planner")).status_code == 403
    assert c.get("/api/v1/watch/alerts", headers=h("planner")).status_code == 403
    assert c.get("/api/v1/watch/alerts", headers=h("family")).get_json()["items"] == []
    denied = st.db.execute("SELECT action FROM watch_audit WHERE actor = 'family'").fetchall()
    assert [d[0] for d in denied] == ["denied"]
    bad = c.post("/api/v1/watch/push", headers=h("responder"), json={"endpoint": "http://x"})
    assert bad.status_code == 400
    st.close()
