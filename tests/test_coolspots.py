"""Cool spots and shelters: municipal lists as published, the MOE alerts and forecasts, what is
open when, operators' tasks — on SQLite and PostgreSQL, through the CLI, the API and restarts."""

from __future__ import annotations

import http.server
import json
import os
import signal
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from collector.app import create_app
from collector.coolspots.layout import ListError, parse_list
from collector.coolspots.moe import AlertFileError, parse_alerts, parse_forecast
from collector.coolspots.registry import import_spots
from collector.coolspots.tasks import Town, check, set_town
from collector.store import Store, connect, migrate
from collector.users import add_token
from machimori.cli import main
from machimori.procs import free_port, spawn, stop, wait_for

from .test_geo import DATA

JST = timezone(timedelta(hours=9))
YAIZU = DATA / "shelters" / "222127_machinakasuzumidokoro_first_2025-06-12.csv"
OKAYAMA = DATA / "shelters" / "pref33_okayama_cooling_shelters.csv"
ALERT = DATA / "moe_wbgt" / "fixtures" / "alert-sample_FursuitWeather_shortened_alert_20260825_05.csv"
FORECAST = DATA / "moe_wbgt" / "prev15WG_yohou_all_202008170500.csv"
CITY_HALL = "222127-000000000001"  # 焼津市役所 本庁舎: Mon–Fri 8:30–17:15
LONE = "222127-000000000022"  # 杏林堂ドラッグストア焼津大住店: no other spot within 1 km


def jst(*a: int) -> float:
    return datetime(*a, tzinfo=JST).timestamp()


def db_with(url: str, data: bytes, **kw) -> object:
    db = connect(url)
    migrate(db)
    import_spots(db, parse_list(data), None, **kw)
    return db


# ---- lists as published


def test_yaizu_list_keeps_ids_hours_and_kinds() -> None:
    warnings: list[tuple[int, str]] = []
    spots = parse_list(YAIZU.read_bytes(), warnings=warnings)
    assert len(spots) == 52
    first = spots[0]
    assert first.source_id == "000000000001"  # leading zeros kept
    assert first.hours["mon"] == [["08:30", "17:15"]] and first.hours["sun"] == []
    assert first.capacity == 10 and first.lat == pytest.approx(34.867206)
    assert {s.kind for s in spots} == {"shelter", "partner"}  # 暑熱避難協力施設 rows
    # Line 25 says Sunday 9:00–9:00: read as closed that day, and said so with its line.
    assert warnings == [(25, ("sun: opening and closing are both 09:00; taken as closed that "
                             "day"))]


def test_encodings_bom_and_drifting_headers_read_alike() -> None:
    plain = YAIZU.read_bytes()
    text = plain.decode("utf-8")
    sjis = text.encode("cp932")
    bom = b"\xef\xbb\xbf" + plain
    header, rest = text.split("\n", 1)
    drifted = (header.replace("水曜開放開始時刻", "水曜開放開始時刻\u3000")
               .replace("緯度", " 緯度").replace("ID", "ＩＤ") + "\n" + rest).encode()
    want = parse_list(plain)
    for variant in (sjis, bom, drifted):
        assert parse_list(variant) == want


def test_a_bad_row_names_its_line() -> None:
    lines = YAIZU.read_text(encoding="utf-8").split("\n")
    lines[9] = lines[9].replace("9:00", "9:70", 1)  # line 10
    lines[30] = lines[30].replace("34.", "134.", 1)  # line 31: latitude outside Japan
    with pytest.raises(ListError) as err:
        parse_list("\n".join(lines).encode())
    assert [n for n, _ in err.value.problems] == [10, 31]
    assert "9:70" in err.value.problems[0][1] and "latitude" in err.value.problems[1][1]


def test_cli_import_refuses_a_bad_file_whole_and_reimport_updates(tmp_path: Path,
                                                                   capsys) -> None:
    db = str(tmp_path / "c.sqlite")
    text = YAIZU.read_text(encoding="utf-8")
    assert main(["collector", "coolspots", "import", "--db", db, str(YAIZU)]) == 0
    assert "52 added, 0 updated" in capsys.readouterr().out
    # A newer version with a renamed row and a row without its ID: refused whole.
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("焼津市役所　本庁舎", "改名").replace("000000000030", "", 1),
                   encoding="utf-8")
    assert main(["collector", "coolspots", "import", "--db", db, str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv:31: ID '' is missing" in err and "nothing imported" in err
    con = connect(db)
    assert con.execute("SELECT name FROM coolspots WHERE id = ?",
                       (CITY_HALL,)).fetchone()[0] == "焼津市役所 本庁舎"
    con.close()
    renamed = tmp_path / "v2.csv"
    renamed.write_text(text.replace("焼津市役所　本庁舎", "焼津市役所 本庁舎（新）"),
                       encoding="utf-8")
    assert main(["collector", "coolspots", "import", "--db", db, str(renamed)]) == 0
    assert "0 added, 52 updated" in capsys.readouterr().out
    con = connect(db)
    rows = con.execute("SELECT id, name FROM coolspots WHERE id = ?", (CITY_HALL,)).fetchall()
    assert [tuple(r) for r in rows] == [(CITY_HALL, "焼津市役所 本庁舎(新)")]
    assert con.execute("SELECT count(*) FROM coolspots").fetchone()[0] == 52
    con.close()


def test_okayama_compilation_free_text_hours_and_renumbered_sections(db_url: str) -> None:
    spots = parse_list(OKAYAMA.read_bytes())
    assert len(spots) == 204
    kou = next(s for s in spots if s.name == "岡輝公民館")
    # "平日 9:30-21:00, 日曜 9:30-17:00, 水曜, 祝日, …を除く": closed Wednesdays and Saturdays.
    assert kou.hours["mon"] == [["09:30", "21:00"]] and kou.hours["sun"] == [["09:30", "17:00"]]
    assert kou.hours["wed"] == [] and kou.hours["sat"] == []
    # 倉敷市 numbers its public and private facilities separately: both kept, told apart.
    db = db_with(db_url, OKAYAMA.read_bytes())
    ids = [r[0] for r in db.execute("SELECT id FROM coolspots WHERE source = '33202' "
                                    "AND source_id = '1'").fetchall()]
    assert sorted(ids) == ["33202-公共施設-1", "33202-民間施設-1"]
    assert db.execute("SELECT count(*) FROM coolspots").fetchone()[0] == 204
    db.close()


# ---- MOE files


def test_alert_file_flags_and_refusals() -> None:
    f = parse_alerts(ALERT.read_bytes())
    assert f.report == "2026-08-25 05:00:00"
    today = {a.pref_name: a.flag for a in f.areas if a.target_date == "2026-08-25"}
    assert today["和歌山"] == 3 and today["東京"] == 1 and today["北海道"] == 0
    # TargetDate2's flags are all 9 (outside the issuing hours): nothing stored for tomorrow.
    assert {a.target_date for a in f.areas} == {"2026-08-25"}
    wakayama = next(a for a in f.areas if a.pref_name == "和歌山")
    assert wakayama.max_wbgt == {"和歌山": 31, "潮岬": 32}
    drill = ALERT.read_bytes().replace("Status,通常".encode(), "Status,訓練".encode())
    with pytest.raises(AlertFileError, match="drill"):
        parse_alerts(drill)
    broken = ALERT.read_bytes().replace(b"300000,\xe5\x92\x8c\xe6\xad\x8c\xe5\xb1\xb1,30,3",
                                        b"300000,\xe5\x92\x8c\xe6\xad\x8c\xe5\xb1\xb1,30,7")
    with pytest.raises(AlertFileError, match="line 28: flag '7'"):
        parse_alerts(broken)


def test_forecast_file_times_and_values() -> None:
    fcs = parse_forecast(FORECAST.read_bytes())
    assert len(fcs) == 840
    first = fcs[0]
    assert first.point == "11001"
    # "2020081706" is 06:00 JST; values are WBGT × 10.
    assert first.values[0] == (jst(2020, 8, 17, 6), 20.0)
    hour24 = [t for t, _ in first.values if t == jst(2020, 8, 18, 0)]
    assert hour24  # "2020081724" is the next day's 0:00
    with pytest.raises(AlertFileError, match="line 2: point"):
        parse_forecast(FORECAST.read_bytes().replace(b'"11001"', b'"1100X"', 1))


@pytest.fixture
def served_file() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that serves the alert file and records the paths asked for."""
    asked: list[str] = []
    body = ALERT.read_bytes()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}", asked
    srv.shutdown()
    srv.server_close()


def test_alerts_from_a_url_open_the_shelters_whose_rule_says_so(tmp_path: Path, served_file,
                                                                 capsys) -> None:
    base, asked = served_file
    db = str(tmp_path / "c.sqlite")
    assert main(["collector", "coolspots", "import", "--db", db, str(YAIZU),
                 "--alert-rule", "alert_open"]) == 0
    assert main(["collector", "coolspots", "town", "--db", db, "--pref", "30"]) == 0
    url = f"{base}/alert/dl/2026/alert_20260825_05.csv"
    assert main(["collector", "coolspots", "alerts", "--db", db, "--url", url]) == 0
    assert asked == ["/alert/dl/2026/alert_20260825_05.csv"]
    assert "特別警戒アラート: 和歌山" in capsys.readouterr().out
    c = create_app({"DATABASE": db, "TESTING": True}).test_client()
    late = c.get("/api/v1/coolspots?at=2026-08-25T22:00").get_json()
    assert late["alert"]["level"] == "special"
    hall = next(i for i in late["items"] if i["id"] == CITY_HALL)
    assert hall["open"] is True  # 22:00, past its hours: opened by the special alert
    next_day = c.get("/api/v1/coolspots?at=2026-08-26T22:00").get_json()
    assert next_day["alert"]["level"] == "none"
    assert not next(i for i in next_day["items"] if i["id"] == CITY_HALL)["open"]
    assert main(["collector", "coolspots", "town", "--db", db, "--pref", "13"]) == 0
    tokyo = c.get("/api/v1/coolspots?at=2026-08-25T22:00").get_json()
    assert tokyo["alert"]["level"] == "warning"
    assert not next(i for i in tokyo["items"] if i["id"] == CITY_HALL)["open"]
    assert main(["collector", "coolspots", "town", "--db", db, "--pref", "tokyo"]) == 2
    assert main(["collector", "coolspots", "alerts", "--db", db, "--url",
                 "file:///etc/passwd"]) == 1
    assert "only http:// and https://" in capsys.readouterr().err


# ---- the API


def test_coolspots_api_open_by_weekday_and_hour(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    db_with(db, YAIZU.read_bytes()).close()
    c = create_app({"DATABASE": db, "TESTING": True}).test_client()

    def hall(at: str) -> dict:
        r = c.get(f"/api/v1/coolspots?at={at}")
        assert r.status_code == 200
        return next(i for i in r.get_json()["items"] if i["id"] == CITY_HALL)

    assert hall("2025-07-07T10:00")["open"] is True  # Monday
    assert hall("2025-07-07T08:29")["open"] is False
    assert hall("2025-07-07T17:15")["open"] is False  # closing time is exclusive
    assert hall("2025-07-06T10:00")["open"] is False  # Sunday
    assert hall("2025-07-07T01:00Z")["open"] is True  # 10:00 JST given in UTC
    item = hall("2025-07-07T10:00")
    assert set(item) >= {"id", "name", "kind", "lat", "lon", "capacity", "amenities", "hours",
                         "open"}
    assert item["name"] == "焼津市役所 本庁舎" and item["capacity"] == 10
    bad = c.get("/api/v1/coolspots?at=yesterday")
    assert bad.status_code == 400 and "ISO 8601" in bad.get_json()["message"]
    only = c.get("/api/v1/coolspots?kind=partner&at=2025-07-07T10:00").get_json()["items"]
    assert only and {i["kind"] for i in only} == {"partner"}


def heat_summary(seq: int, lat: float, lon: float, wbgt: float, end: float,
                 sun: str = "sun") -> tuple[str, bytes]:
    stat = {"mean": wbgt, "min": wbgt, "max": wbgt, "last": wbgt}
    body = {"schema": "machimori/summary/1", "id": f"gw-01:{seq}", "gw": "gw-01", "seq": seq,
            "kind": "heat", "device": f"heat-{seq:03d}", "start": end - 60, "end": end, "n": 6,
            "values": {"air_c": stat, "humidity": stat, "wbgt_c": stat},
            "place": {"lat": lat, "lon": lon, "name": "near"}, "wbgt_level": 3,
            "state": {"sun": sun, "faults": [], "hot_spot": False}}
    return "machimori/v1/gw/gw-01/summary/heat", json.dumps(body).encode()


def test_tasks_when_live_wbgt_crosses_a_threshold_once_per_day(db_url: str) -> None:
    now = jst(2026, 8, 3, 14)
    st = Store(db_url)
    import_spots(st.db, parse_list(YAIZU.read_bytes()), None)
    set_town(st.db, Town(pref_code="22", task_wbgt=28.0))
    lat, lon = next((sp.lat, sp.lon) for sp in parse_list(YAIZU.read_bytes())
                    if sp.source_id == LONE[-12:])
    # A sensor 40 m from a lone shop at 29 °C; another far from every spot at 33 °C.
    st.ingest([heat_summary(1, lat + 0.00036, lon, 29.0, now - 120),
               heat_summary(2, 35.5, 138.9, 33.0, now - 120)], now=now)
    assert check(st.db, now) == 1
    assert check(st.db, now + 600) == 0  # the same day: no second task
    rows = st.db.execute("SELECT spot, kind, wbgt, threshold FROM coolspot_tasks").fetchall()
    assert [tuple(r) for r in rows] == [(LONE, "wbgt", 29.0, 28.0)]
    # Stale readings (an hour old) make no tasks the next day.
    assert check(st.db, now + 86400) == 0
    st.close()


def test_operators_list_and_close_tasks_and_it_survives_kill_9(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    now = jst(2026, 8, 3, 14)
    st = Store(db)
    import_spots(st.db, parse_list(YAIZU.read_bytes()), None)
    lat, lon = next((sp.lat, sp.lon) for sp in parse_list(YAIZU.read_bytes())
                    if sp.source_id == LONE[-12:])
    st.ingest([heat_summary(1, lat, lon + 0.0003, 30.5, now - 60)], now=now)
    assert check(st.db, now) == 1
    admin = add_token(st.db, "ops", "admin")
    viewer = add_token(st.db, "view", "viewer")
    st.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def serve():
        return spawn(["-m", "machimori.cli", "collector", "serve", "--db", db, "--port",
                      str(port), "--threads", "2"], tmp_path / "serve.log")

    def call(path: str, token: str, method: str = "GET") -> tuple[int, dict]:
        req = urllib.request.Request(base + path, method=method,
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def up() -> bool:
        try:
            return call("/api/v1/health", admin)[0] == 200
        except OSError:
            return False

    proc = serve()
    try:
        wait_for(up, 60, "the web server")
        code, body = call("/api/v1/coolspots/tasks", admin)
        assert code == 200 and [t["spot"] for t in body["items"]] == [LONE]
        assert body["items"][0]["name"] == "杏林堂ドラッグストア焼津大住店"
        assert call("/api/v1/coolspots/tasks", viewer)[0] == 403
        tid = body["items"][0]["id"]
        assert call(f"/api/v1/coolspots/tasks/{tid}/done", admin, "POST") == (
            200, {"id": tid, "done": True})
        assert call(f"/api/v1/coolspots/tasks/{tid}/done", admin, "POST")[0] == 404
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc = serve()
        wait_for(up, 60, "the web server after kill -9")
        assert call("/api/v1/coolspots/tasks", admin)[1]["items"] == []
        done = call("/api/v1/coolspots/tasks?all=1", admin)[1]["items"]
        assert [(t["id"], t["done_by"]) for t in done] == [(tid, "ops")]
        assert len(call("/api/v1/coolspots?at=2026-08-03T10:00", admin)[1]["items"]) == 52
    finally:
        stop(proc)
    st = Store(db)
    assert check(st.db, now + 60) == 0  # done stays done: no new task that day
    st.close()
    assert sys.executable  # the server ran under this interpreter (spawn)


def test_alerts_and_forecasts_stored_newest_report_wins(db_url: str) -> None:
    from collector.coolspots.moe import forecast_at, store_alerts, store_forecast
    from collector.coolspots.registry import special_alert

    db = connect(db_url)
    migrate(db)
    f = parse_alerts(ALERT.read_bytes())
    assert store_alerts(db, f, now=1.0) == 8
    at = jst(2026, 8, 25, 15)
    assert special_alert(db, at, "30")["level"] == "special"
    assert special_alert(db, at, "13")["level"] == "warning"
    assert special_alert(db, at, "13", area_code="999999")["level"] == "none"  # other area
    # An older report for the same day changes nothing; a newer one replaces the flag.
    older = ALERT.read_bytes().replace(b"ReportTime,05:00:00", b"ReportTime,04:00:00").replace(
        b"300000,\xe5\x92\x8c\xe6\xad\x8c\xe5\xb1\xb1,30,3", b"300000,\xe5\x92\x8c\xe6\xad\x8c"
        b"\xe5\xb1\xb1,30,0")
    assert store_alerts(db, parse_alerts(older)) == 0  # every row older than stored
    assert special_alert(db, at, "30")["level"] == "special"
    newer = older.replace(b"ReportTime,04:00:00", b"ReportTime,10:00:00")
    store_alerts(db, parse_alerts(newer))
    assert special_alert(db, at, "30")["level"] == "none"
    assert store_forecast(db, parse_forecast(FORECAST.read_bytes())) == 19320
    store_forecast(db, parse_forecast(FORECAST.read_bytes()))  # again: updated, not doubled
    assert db.execute("SELECT count(*) FROM wbgt_forecasts").fetchone()[0] == 19320
    assert forecast_at(db, "11001", jst(2020, 8, 17, 7)) == 20.0  # nearest: 06:00
    assert forecast_at(db, "11001", jst(2020, 8, 30, 12)) is None  # beyond the forecast
    db.close()
