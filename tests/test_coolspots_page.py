"""The operators' page: tasks in the reader's language, a button that closes them (with CSRF),
the registry with what is open — and a hostile name from a list shown as text."""

from __future__ import annotations

import re
import time
from pathlib import Path

from collector.app import create_app
from collector.coolspots.layout import parse_list
from collector.coolspots.registry import import_spots
from collector.coolspots.tasks import check
from collector.store import Store
from collector.users import add_user

from .test_coolspots import heat_summary

PASSWORD = "correct horse battery"


def test_operators_page_lists_and_closes_tasks(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    st = Store(db)
    evil = "<script>alert(1)</script>"
    csv = ("ID,名称,緯度,経度,月曜開放開始時刻,月曜開放終了時刻\n"
           f"0001,{evil},35.0,139.0,9:00,18:00\n0002,公民館,35.1,139.1,-,-\n")
    import_spots(st.db, parse_list(csv.encode()), "test")
    now = time.time()
    st.ingest([heat_summary(1, 35.0, 139.0003, 30.5, now - 60)], now=now)
    assert check(st.db, now) == 1
    add_user(st.db, "ops", PASSWORD, "planner")
    st.close()
    c = create_app({"DATABASE": db, "TESTING": True}).test_client()
    login = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    c.post("/login", data={"username": "ops", "password": PASSWORD, "csrf_token": token})
    ja = c.get("/admin/coolspots/").get_data(as_text=True)
    assert "対応が必要なこと" in ja and "暑さ指数 30.5℃（基準 28℃）" in ja
    assert evil not in ja and "&lt;script&gt;alert(1)&lt;/script&gt;" in ja
    en = c.get("/admin/coolspots/?lang=en").get_data(as_text=True)
    assert "WBGT 30.5 °C nearby (threshold 28 °C)" in en and "closed" in en
    form = re.search(r'action="(/admin/coolspots/tasks/\d+/done[^"]*)".*?name="csrf_token" '
                     r'value="([^"]+)"', en, re.DOTALL)
    assert c.post(form.group(1).replace("&amp;", "&")).status_code == 400  # no CSRF token
    r = c.post(form.group(1).replace("&amp;", "&"), data={"csrf_token": form.group(2)})
    assert r.status_code == 302
    after = c.get("/admin/coolspots/?lang=en").get_data(as_text=True)
    assert "Nothing to do right now" in after
