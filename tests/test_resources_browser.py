"""The resource pages in a real Chromium: Japanese search with the map, then the whole needs
× ideas flow by three people (post, review, match with its score parts, both accept, project
status) — and the promised match and project survive the web server's SIGKILL."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from collector.resources import opendata
from collector.store import connect, migrate
from collector.users import add_user

from .harness import Collector
from .test_resources import FACILITIES, FIRE, PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def site(tmp_path: Path):
    db = str(tmp_path / "c.sqlite")
    d = connect(db)
    migrate(d)
    for path in (FACILITIES, FIRE):
        assert not opendata.import_file(d, path).errors
    for name, role in (("planner-user", "planner"), ("hanako", "viewer"), ("taro", "viewer")):
        add_user(d, name, PASSWORD, role)
    d.close()
    web = Collector(tmp_path, "mqtt://127.0.0.1:1", db=db, extra_args=("--no-ingest",)).start()
    try:
        yield web
    finally:
        web.stop()


def shots_dir(tmp_path: Path) -> Path:
    out = Path(os.environ.get("MACHIMORI_SCREENSHOTS", tmp_path / "shots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def sign_in(page: Page, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/heat**")


def test_search_and_map_in_chromium(site, tmp_path: Path) -> None:
    shots = shots_dir(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox",
                                                                    "--disable-gpu"])
        try:
            page = browser.new_page(viewport=DESKTOP)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(site.base + "/resources")
            for q, expect in (("水", 8), ("交流", 3), ("みゅーじあむ", 1), ("港", 4)):
                page.fill("#q", q)
                page.click("#go")
                page.wait_for_function(
                    f"document.querySelectorAll('#results li').length === {expect}",
                    timeout=15_000)
            assert "深層水ミュージアム" in page.inner_text("#results")
            page.fill("#q", "水")
            page.click("#go")
            page.wait_for_selector("#rmap circle.rpoint", timeout=15_000)
            assert page.locator("#rmap circle.rpoint").count() == 8
            page.click("#rmap circle.rpoint[data-id='1']")
            assert "深層水" in page.inner_text("#rmap-pick")
            page.screenshot(path=str(shots / "resources-desktop.png"), full_page=True)
            page.click("#facet-area a >> nth=0")
            page.wait_for_function("location.search.includes('area=')", timeout=15_000)
            assert page.locator("#results li").count() >= 1
            phone = browser.new_page(viewport=PHONE)
            phone.goto(site.base + "/resources?q=防火")
            phone.wait_for_selector("#rmap circle.rpoint", timeout=15_000)
            phone.screenshot(path=str(shots / "resources-phone.png"), full_page=True)
            phone.goto(site.base + "/resources/1?lang=en")
            assert "Source" in phone.inner_text("article")
            phone.screenshot(path=str(shots / "resource-detail-phone.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()


def post(page: Page, base: str, kind: str, title: str, body: str, tags: str,
         poster: str) -> None:
    page.goto(base + f"/resources/posts/new?kind={kind}&resource=1")
    page.select_option("select[name=poster_type]", poster)
    page.fill("input[name=title]", title)
    page.fill("textarea[name=body]", body)
    page.fill("input[name=tags]", tags)
    page.click("#send")
    page.wait_for_selector("#done, #similar", timeout=15_000)


def test_needs_and_ideas_become_a_project(site, tmp_path: Path) -> None:
    shots = shots_dir(tmp_path)
    base = site.base
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox",
                                                                    "--disable-gpu"])
        try:
            hanako = browser.new_context(viewport=PHONE).new_page()
            taro = browser.new_context(viewport=DESKTOP).new_page()
            planner = browser.new_context(viewport=DESKTOP).new_page()
            for page, user in ((hanako, "hanako"), (taro, "taro"), (planner, "planner-user")):
                sign_in(page, base, user)
            post(hanako, base, "need", "深層水で地元の干物づくり体験",
                 "深層水ミュージアムの一角で、干物づくりの体験教室を開きたい", "干物, 体験, 深層水",
                 "business")
            assert hanako.is_visible("#done")
            post(taro, base, "idea", "干物づくり体験と港めぐり",
                 "深層水を使った干物づくり体験に、港の散歩を組み合わせる", "干物, 体験, 港",
                 "resident")
            # Taro's idea resembles a pending post of his own? No: Hanako's is not yet
            # public, so Taro is not shown it (nothing public before review).
            assert taro.is_visible("#done")
            # Hanako posts her need again: she is shown her own pending one first.
            post(hanako, base, "need", "深層水で地元の干物づくり体験",
                 "深層水ミュージアムの一角で、干物づくりの体験教室を開きたい", "干物", "business")
            assert "深層水で地元の干物づくり体験" in hanako.inner_text("#similar")
            hanako.screenshot(path=str(shots / "post-similar-phone.png"), full_page=True)
            anon = browser.new_page()
            anon.goto(base + "/resources/posts")
            assert "干物" not in anon.inner_text("main")  # nothing public before review
            planner.goto(base + "/resources/admin")
            assert planner.locator("#queue tr[data-post]").count() == 2
            planner.screenshot(path=str(shots / "admin-queue-desktop.png"), full_page=True)
            for _ in range(2):
                planner.click("#queue tr[data-post] >> nth=0 >> button.accept")
                planner.wait_for_load_state()
            assert planner.is_visible("#empty-queue")
            # Both sides are told, and see every part of the score.
            hanako.goto(base + "/resources/mine")
            assert "新しいマッチがあります" in hanako.inner_text("#notices")
            parts = hanako.inner_text(".match .parts")
            assert "共通タグ" in parts and "体験、干物" in parts and "同じ資源" in parts
            hanako.screenshot(path=str(shots / "mine-match-phone.png"), full_page=True)
            hanako.click("button.accept")
            hanako.wait_for_selector(".answered", timeout=15_000)
            taro.goto(base + "/resources/mine?lang=en")
            assert "New match" in taro.inner_text("#notices")
            taro.click("button.accept")
            taro.wait_for_selector(".project", timeout=15_000)
            planner.goto(base + "/resources/admin")
            planner.select_option("#projects select[name=status]", "in_progress")
            planner.fill("#projects input[name=note]", "4月開始")
            planner.click("#projects button[type=submit]")
            planner.wait_for_load_state()
            planner.screenshot(path=str(shots / "admin-project-desktop.png"), full_page=True)
        finally:
            browser.close()
    # The web server dies without warning; what was promised is still there after restart.
    site.kill()
    site.start()
    rows = site.query("SELECT p.status, p.note, m.need_answer, m.idea_answer FROM "
                      "resource_projects p JOIN resource_matches m ON m.id = p.match_id")
    assert rows == [("in_progress", "4月開始", "yes", "yes")]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox",
                                                                    "--disable-gpu"])
        try:
            page = browser.new_page(viewport=DESKTOP)
            sign_in(page, base, "hanako")
            page.goto(base + "/resources/mine")
            assert "進行中" in page.inner_text(".project")
            assert "プロジェクトの状態が変わりました" in page.inner_text("#notices")
            page.goto(base + "/resources/posts")
            assert "進行中" in page.inner_text("#projects")
            page.screenshot(path=str(shots / "posts-desktop.png"), full_page=True)
            page.set_viewport_size(PHONE)
            page.goto(base + "/resources/suggest")
            page.screenshot(path=str(shots / "suggest-phone.png"), full_page=True)
        finally:
            browser.close()
