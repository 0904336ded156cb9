"""Cool spots on the heat map in a real Chromium: each actuator drawn with its state, updated
live, and its name shown as text (a name with markup stays text)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from collector import actuators as act
from collector.store import Store

from .harness import Collector
from .test_collector import summary

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_cool_spots_show_their_state_on_the_map(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    st = Store(db)
    now = time.time()
    st.ingest([summary(1, device="heat-001", end=now, wbgt=30.0)])
    act.register(st.db, id="mist-1", gw="gw-01", lat=36.1402, lon=139.3803, on_wbgt=28,
                 name="<b>駅前</b>ミスト", now=now)
    st.db.execute("UPDATE actuators SET state = 'on', state_at = ?, wbgt = 30.0", (now,))
    web = Collector(tmp_path, "mqtt://127.0.0.1:1", db=str(db), extra_args=("--no-ingest",)
                    ).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run"])
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
                page.goto(web.base + "/heat")
                spot = "path.coolspot[data-id='mist-1']"
                page.wait_for_selector(spot + "[data-state='on']", timeout=15_000)
                title = page.text_content(spot + " title") or ""
                assert "<b>駅前</b>ミスト" in title and "運転中" in title and "30.0" in title
                assert page.locator("b", has_text="駅前").count() == 0  # never markup
                assert page.is_visible("#legend-coolspot")
                # The device reports off: the map follows without a reload.
                st.db.execute("UPDATE actuators SET state = 'off', state_at = ?", (now,))
                page.wait_for_selector(spot + "[data-state='off']", timeout=20_000)
                page.goto(web.base + "/heat?lang=en")
                page.wait_for_selector(spot, timeout=15_000)
                assert "stopped" in (page.text_content(spot + " title") or "")
            finally:
                browser.close()
    finally:
        web.stop()
        st.close()
