"""The cool-stamp programme and the shops' dashboard: stamps only on hot days, once per spot and
day, redeemed once at a shop, no personal data kept; shops see only their own dashboard."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import orjson
import pytest
from playwright.sync_api import sync_playwright

from collector.app import create_app
from collector.shops import add_point, add_shop, today
from collector.store import Store, connect
from collector.users import add_user

from .harness import Collector
from .test_auth import PASSWORD, csrf, login

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def heat(seq: int, level: int, wbgt: float, end: float, gw: str = "gw-01",
         device: str = "heat-001") -> tuple[str, bytes]:
    stat = {"mean": wbgt, "min": wbgt - 1, "max": wbgt, "last": wbgt}
    body = {"schema": "machimori/summary/1", "id": f"{gw}:{seq}", "gw": gw, "seq": seq,
            "kind": "heat", "device": device, "start": end - 60, "end": end, "n": 6,
            "values": {"air_c": stat, "humidity": stat, "wbgt_c": stat}, "wbgt_level": level}
    return f"machimori/v1/gw/{gw}/summary/heat", orjson.dumps(body)


def people(seq: int, n: float, end: float, gw: str = "gw-01") -> tuple[str, bytes]:
    stat = {"mean": n, "min": n, "max": n, "last": n}
    body = {"schema": "machimori/summary/1", "id": f"{gw}:{seq}", "gw": gw, "seq": seq,
            "kind": "people", "device": gw, "start": end - 60, "end": end, "n": 1,
            "values": {"unique_devices": stat}}
    return f"machimori/v1/gw/{gw}/summary/people", orjson.dumps(body)


@pytest.fixture
def town(tmp_path: Path) -> tuple[str, dict[str, str]]:
    url = str(tmp_path / "c.sqlite")
    st = Store(url)
    now = time.time()
    # The last 10 days: hot days (peak WBGT 30) have fewer passers-by than mild days (23).
    items, seq = [], 1
    for d in range(1, 11):
        end = now - d * 86400
        hot = d % 2 == 0
        items += [heat(seq, 3 if hot else 0, 30.0 if hot else 23.0, end),
                  people(seq + 1, 40.0 if hot else 70.0, end)]
        seq += 2
    items.append(heat(seq, 3, 29.5, now - 60))  # live: 厳重警戒 now
    st.ingest(items)
    db = st.db
    add_user(db, "shop-user", PASSWORD, "shop")
    add_user(db, "other-shop", PASSWORD, "shop")
    add_user(db, "viewer-user", PASSWORD, "viewer")
    add_shop(db, "kakigori", "かき氷 みなと屋", "shop-user", "かき氷 50円引き", 3, gw="gw-01")
    add_shop(db, "cafe", "喫茶 すずかぜ", "other-shop", "アイスコーヒー1杯", 2)
    tokens = {p: add_point(db, p, name, kind, shop) for p, name, kind, shop in [
        ("library", "市立図書館 涼み処", "coolspot", None),
        ("station", "駅前 休憩所", "coolspot", None),
        ("kakigori-tent", "みなと屋の日陰テント", "shop", "kakigori")]}
    st.close()
    return url, tokens


def stamp(client, token: str) -> str:
    page = client.get(f"/stamp/{token}").get_data(as_text=True)
    tok = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(f"/stamp/{token}", data={"csrf_token": tok}).get_data(as_text=True)


def test_stamps_are_given_on_hot_days_once_per_spot_and_day(town) -> None:
    url, tokens = town
    app = create_app({"DATABASE": url, "TESTING": True})
    resident = app.test_client()
    assert "スタンプを押しました" in stamp(resident, tokens["library"])
    assert resident.get_cookie("mm_card") is not None
    assert "もう受け取っています" in stamp(resident, tokens["library"])
    assert "スタンプを押しました" in stamp(resident, tokens["station"])
    card = resident.get("/stamps").get_data(as_text=True)
    assert re.search(r'big-number">2<', card)
    # Another browser is another card.
    assert "スタンプを押しました" in stamp(app.test_client(), tokens["library"])
    # A mild hour: no stamps.
    db = connect(url)
    db.execute("UPDATE devices SET wbgt_level = 1")
    db.close()
    assert "スタンプはありません" in stamp(resident, tokens["kakigori-tent"])
    assert app.test_client().get("/stamp/not-a-real-token-0000").status_code == 404
    assert app.test_client().get("/stamp/<script>").status_code == 404


def test_a_card_is_redeemed_once_at_the_counter_and_survives_a_restart(town) -> None:
    url, tokens = town
    app = create_app({"DATABASE": url, "TESTING": True})
    resident = app.test_client()
    for p in ("library", "station", "kakigori-tent"):
        stamp(resident, tokens[p])
    kept = resident.get_cookie("mm_card").value
    # The collector restarts; the card in the browser still holds its stamps.
    app = create_app({"DATABASE": url, "TESTING": True})
    resident = app.test_client()
    resident.set_cookie("mm_card", kept)
    page = resident.get("/stamps").get_data(as_text=True)
    r = resident.post("/stamps/code", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', page).group(1)})
    code = re.search(r'stamp-code"[^>]*>([A-Z0-9]{4})-([A-Z0-9]{4})<', r.get_data(as_text=True))
    code = code.group(1) + code.group(2)
    shop = app.test_client()
    login(shop, "shop")
    r = shop.post("/shop", data={"code": code.lower(), "csrf_token": csrf(shop)})
    assert r.status_code == 200 and "残りのスタンプ：0個" in r.get_data(as_text=True)
    r = shop.post("/shop", data={"code": code, "csrf_token": csrf(shop)})
    assert r.status_code == 400 and "has 0 stamp(s)" in r.get_data(as_text=True)
    r = shop.post("/shop", data={"code": "<b>x</b>", "csrf_token": csrf(shop)})
    assert r.status_code == 400 and "<b>x</b>" not in r.get_data(as_text=True)
    dash = shop.get("/shop").get_data(as_text=True)
    assert re.search(r'big-number">1</span> 個のスタンプ', dash)  # at its own tent
    assert re.search(r'big-number">1</span> 回の特典交換', dash)


def test_the_dashboard_compares_hot_and_mild_days_and_is_private_to_its_shop(town) -> None:
    url, _ = town
    app = create_app({"DATABASE": url, "TESTING": True})
    shop = app.test_client()
    login(shop, "shop")
    dash = shop.get("/shop").get_data(as_text=True)
    assert "かき氷 みなと屋" in dash and "喫茶 すずかぜ" not in dash
    assert ">40.0<" in dash and ">70.0<" in dash  # hot-day and mild-day means
    assert "暑い日 (5)" in dash and "過ごしやすい日 (5)" in dash
    assert shop.get("/shop?id=cafe").status_code == 403
    viewer = app.test_client()
    login(viewer, "viewer")
    assert viewer.get("/shop").status_code == 403


def test_stamp_tables_hold_no_personal_data(town) -> None:
    url, tokens = town
    app = create_app({"DATABASE": url, "TESTING": True})
    c = app.test_client()
    stamp(c, tokens["library"])
    db = connect(url)
    card = c.get_cookie("mm_card").value
    for table in ("stamp_cards", "stamps", "redemptions"):
        cols = {r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()}
        assert not cols & {"user", "username", "person", "ip", "lat", "lon", "name", "phone"}
    rows = db.execute("SELECT * FROM stamps").fetchall()
    assert card not in str([tuple(r) for r in rows])  # only its hash
    assert rows[0]["day"] == today(time.time())
    db.close()


def test_stamp_and_dashboard_in_chromium(town, tmp_path: Path) -> None:
    url, tokens = town
    web = Collector(tmp_path, "mqtt://127.0.0.1:1", db=url, extra_args=("--no-ingest",)).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"])
            try:
                phone = browser.new_page(viewport={"width": 390, "height": 844})
                for point in ("library", "station", "kakigori-tent"):
                    phone.goto(f"{web.base}/stamp/{tokens[point]}")
                    phone.click("button.big")
                    phone.wait_for_selector("p.ok")
                phone.goto(web.base + "/stamps")
                phone.click("text=お店で見せるコードを表示")
                code = phone.inner_text("p.stamp-code").replace("-", "")
                phone.screenshot(path=str(tmp_path / "stamp-card-phone.png"), full_page=True)
                shop = browser.new_page(viewport={"width": 1280, "height": 900})
                shop.goto(web.base + "/login")
                shop.fill("input[name=username]", "shop-user")
                shop.fill("input[name=password]", PASSWORD)
                shop.click("button[type=submit]")
                shop.goto(web.base + "/shop")
                shop.fill("input[name=code]", code)
                shop.click("form[method=post] button[type=submit] >> text=特典と交換")
                shop.wait_for_selector("p.ok")
                assert "残りのスタンプ：0個" in shop.inner_text("p.ok")
                assert shop.locator("svg.bars rect.bar-hot").get_attribute("width") not in (
                    None, "0", "0.0")
                shop.screenshot(path=str(tmp_path / "shop-dashboard.png"), full_page=True)
                assert (tmp_path / "shop-dashboard.png").stat().st_size > 10_000
            finally:
                browser.close()
    finally:
        web.stop()
