"""The collector's store and web app on a real SQLite database built from the migrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector.app import create_app
from collector.store import Store, connect, migrate, migrations

T = 1_785_715_200.0


def summary(seq: int, device: str = "heat-001", end: float = T + 60, air: float = 31.0,
            wbgt: float = 28.4, level: int = 3, gw: str = "gw-01") -> tuple[str, bytes]:
    stat = lambda v: {"mean": v, "min": v, "max": v, "last": v}
    body = {"schema": "machimori/summary/1", "id": f"{gw}:{seq}", "gw": gw, "seq": seq,
            "kind": "heat", "device": device, "start": end - 60, "end": end, "n": 6,
            "values": {"air_c": stat(air), "humidity": stat(60.0), "surface_c": stat(44.0),
                       "wbgt_c": stat(wbgt)},
            "place": {"lat": 36.14, "lon": 139.38, "name": "駅前"}, "wbgt_level": level}
    return f"machimori/v1/gw/{gw}/summary/heat", json.dumps(body).encode()


def test_both_dialects_have_the_same_migrations() -> None:
    lite = [n for n, _ in migrations("sqlite")]
    assert lite == [n for n, _ in migrations("postgresql")]
    assert lite == sorted(lite) and lite[0] == "0001_init.sql"


def test_migrations_are_named_ordered_and_recorded(db_url: str) -> None:
    db = connect(db_url)
    names = [n for n, _ in migrations(db.dialect)]
    assert migrate(db) == names
    assert migrate(db) == []  # idempotent
    recorded = [r[0] for r in db.execute(
        "SELECT name FROM schema_migrations ORDER BY name").fetchall()]
    assert recorded == names
    db.close()


def test_ingest_is_idempotent_and_dead_letters_bad_input(db_url: str) -> None:
    st = Store(db_url)
    r = st.ingest([summary(1), summary(2, device="heat-002"), summary(1),
                   ("machimori/v1/gw/gw-01/summary/heat", b"\x00\x01")])
    assert (r.stored, r.duplicates, r.dead) == (2, 1, 1)
    r = st.ingest([summary(2, device="heat-002")])
    assert (r.stored, r.duplicates) == (0, 1)
    n = st.db.execute("SELECT count(*) FROM summaries").fetchone()[0]
    dead = st.db.execute("SELECT topic, payload, reason FROM dead_letters").fetchall()
    assert n == 2
    assert len(dead) == 1 and bytes(dead[0]["payload"]) == b"\x00\x01"
    assert "not JSON" in dead[0]["reason"]
    st.close()


def test_latest_state_never_moves_backwards(db_url: str) -> None:
    st = Store(db_url)
    st.ingest([summary(2, end=T + 120, air=33.0)])
    st.ingest([summary(1, end=T + 60, air=29.0)])  # a late redelivery of an older window
    latest = json.loads(st.db.execute("SELECT latest FROM devices").fetchone()[0])
    assert latest["air_c"]["last"] == 33.0
    st.close()


@pytest.fixture
def client(db_url: str):
    st = Store(db_url)
    st.ingest([summary(1, end=T + 60, wbgt=24.0, level=1),
               summary(2, end=T + 120, wbgt=28.4, level=3),
               summary(3, device="heat-002", end=T + 120, wbgt=31.2, level=4, air=35.5)])
    st.close()
    app = create_app({"DATABASE": db_url, "TESTING": True})
    return app.test_client()


def test_api_sensors(client) -> None:
    body = client.get("/api/v1/sensors").get_json()
    s = {x["id"]: x for x in body["sensors"]}
    assert set(s) == {"heat-001", "heat-002"}
    assert s["heat-001"]["wbgt_c"] == 28.4 and s["heat-001"]["air_c"] == 31.0
    assert s["heat-001"]["wbgt_level"] == {"code": 3, "ja": "厳重警戒", "en": "severe warning"}
    assert s["heat-002"]["wbgt_level"]["ja"] == "危険" and s["heat-002"]["air_c"] == 35.5
    assert s["heat-001"]["lat"] == 36.14 and s["heat-001"]["updated"] == T + 120
    assert s["heat-001"]["surface_c"] == 44.0 and s["heat-001"]["humidity"] == 60.0


def test_api_health_and_trend(client) -> None:
    assert client.get("/api/v1/health").get_json()["status"] == "ok"
    pts = client.get("/api/v1/heat/trend").get_json()["points"]
    assert [(p["t"], p["mean"], p["max"]) for p in pts] == [(T + 60, 24.0, 24.0),
                                                            (T + 120, 29.8, 31.2)]
    bad = client.get("/api/v1/heat/trend?since=yesterday")
    assert bad.status_code == 400 and "since" in bad.get_json()["message"]


def test_heat_page_is_japanese_first_with_english(client) -> None:
    ja = client.get("/heat").get_data(as_text=True)
    assert '<html lang="ja">' in ja and "暑さ指数マップ" in ja and "厳重警戒" in ja
    en = client.get("/heat?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in en and "Heat (WBGT) map" in en and "severe warning" in en
    # The choice sticks (cookie) and the root redirects to the heat page.
    assert "Heat (WBGT) map" in client.get("/heat").get_data(as_text=True)
    assert client.get("/").status_code == 302


def _openapi_validator(client, path: str, status: int):
    import jsonschema

    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"][path]["get"]["responses"][str(status)]["content"]
    schema = next(iter(op.values()))["schema"]
    # Resolve the document's $refs against the document itself.
    wrapped = {**schema, "components": doc["components"]}
    return jsonschema.Draft202012Validator(wrapped)


@pytest.mark.parametrize("url, path, status", [
    ("/api/v1/health", "/api/v1/health", 200),
    ("/api/v1/sensors", "/api/v1/sensors", 200),
    ("/api/v1/heat/trend", "/api/v1/heat/trend", 200),
    ("/api/v1/heat/trend?until=x", "/api/v1/heat/trend", 400),
    ("/api/v1/basemap", "/api/v1/basemap", 200),
    ("/api/v1/people/trend", "/api/v1/people/trend", 200),
    ("/api/v1/people/trend?since=x", "/api/v1/people/trend", 400),
])
def test_responses_match_the_openapi_document(client, url: str, path: str,
                                              status: int) -> None:
    r = client.get(url)
    assert r.status_code == status
    errors = list(_openapi_validator(client, path, status).iter_errors(r.get_json()))
    assert errors == []


def test_openapi_catches_a_wrong_response(client) -> None:
    v = _openapi_validator(client, "/api/v1/sensors", 200)
    good = client.get("/api/v1/sensors").get_json()
    bad = {**good, "sensors": [{**good["sensors"][0], "wbgt_level": {"code": 9}}]}
    assert not list(v.iter_errors(good)) and list(v.iter_errors(bad))


def test_sink_queue_is_filled_in_the_ingest_transaction(db_url: str) -> None:
    st = Store(db_url, sinks=("influx",))
    st.ingest([summary(1), summary(1), summary(2, device="heat-002")])
    batch = st.sink_batch("influx", 10)
    assert [b[1]["id"] for b in batch] == ["gw-01:1", "gw-01:2"]  # the duplicate is not queued
    st.sink_done([batch[0][0]])
    assert st.sink_depth("influx") == 1 and st.sink_batch("other", 10) == []
    st.close()


def test_retention_folds_old_windows_into_hours(db_url: str) -> None:
    from collector.retention import downsample, expire_events

    st = Store(db_url)
    hour = 1_785_715_200.0  # 09:00 JST, an hour boundary
    # Six windows of 09:00–10:00 (air 30..35, n 6 each), two of 10:00–11:00, then one recent.
    st.ingest([summary(i + 1, end=hour + 600 * (i + 1), air=30.0 + i) for i in range(6)])
    st.ingest([summary(7, end=hour + 3600 + 600, air=40.0),
               summary(8, end=hour + 3600 + 1200, air=20.0),
               summary(9, end=hour + 7200 + 600, air=33.0)])
    res = downsample(st.db, cutoff=hour + 7200)
    assert (res.summaries_removed, res.hours_written) == (8, 2)
    left = [r[0] for r in st.db.execute("SELECT id FROM summaries").fetchall()]
    assert left == ["gw-01:9"]
    rows = {r["hour"]: r for r in st.db.execute(
        'SELECT hour, windows, n, "values" FROM summaries_hourly ORDER BY hour').fetchall()}
    first = json.loads(rows[hour]["values"])["air_c"]
    assert rows[hour]["windows"] == 6 and rows[hour]["n"] == 36
    assert first == {"mean": 32.5, "min": 30.0, "max": 35.0, "last": 35.0}
    assert json.loads(rows[hour + 3600]["values"])["air_c"] == {
        "mean": 30.0, "min": 20.0, "max": 40.0, "last": 20.0}
    # Running again changes nothing; a late window for a folded hour merges into it.
    assert downsample(st.db, cutoff=hour + 7200).summaries_removed == 0
    st.ingest([summary(10, end=hour + 3600 + 1800, air=50.0)])
    downsample(st.db, cutoff=hour + 7200)
    merged = st.db.execute('SELECT windows, "values" FROM summaries_hourly WHERE hour = ?',
                           (hour + 3600,)).fetchone()
    air = json.loads(merged["values"])["air_c"]
    assert merged["windows"] == 3 and air["max"] == 50.0 and air["last"] == 50.0
    assert air["mean"] == pytest.approx((40 + 20 + 50) / 3, abs=1e-3)
    assert expire_events(st.db, cutoff=hour) == 0
    st.close()


def test_people_trend_pairs_counts_with_wbgt(db_url: str) -> None:
    st = Store(db_url)
    stat = lambda v: {"mean": v, "min": v, "max": v, "last": v}
    people = []
    for seq, (gw, end, n) in enumerate([("gw-01", T + 60, 40.0), ("gw-02", T + 60, 25.0),
                                        ("gw-01", T + 120, 12.0)], start=10):
        body = {"schema": "machimori/summary/1", "id": f"{gw}:{seq}", "gw": gw, "seq": seq,
                "kind": "people", "device": gw, "start": end - 60, "end": end, "n": int(n),
                "values": {"unique_devices": stat(n)}}
        people.append((f"machimori/v1/gw/{gw}/summary/people", json.dumps(body).encode()))
    st.ingest(people + [summary(1, end=T + 60, wbgt=27.0), summary(2, end=T + 120, wbgt=31.5)])
    st.close()
    app = create_app({"DATABASE": db_url, "TESTING": True})
    pts = app.test_client().get("/api/v1/people/trend").get_json()["points"]
    # The window ending T+120 has one gateway of two so far: still arriving, not plotted yet.
    assert [(p["t"], p["people"], p["gateways"], p["wbgt"]) for p in pts] == [
        (T + 60, 65.0, 2, 27.0)]


def test_ingest_survives_a_locked_database(tmp_path: Path, mosquitto) -> None:
    """A batch that cannot be written (the database stays locked past its timeout) is retried,
    not dropped, and ingest goes on; nothing was acknowledged meanwhile."""
    import sqlite3

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from collector.ingest import IngestWorker
    from machimori.procs import wait_for

    db = tmp_path / "c.sqlite"
    Store(db).close()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock longer than busy_timeout (5 s)
    w = IngestWorker(str(db), mosquitto.url, client_id="locked-test")
    w.start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="locked-pub")
    try:
        wait_for(lambda: w.stats.connected, 15, "the worker to connect")
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        for seq in (1, 2, 3):
            pub.publish(*summary(seq, device=f"heat-{seq}"), qos=1).wait_for_publish(5)
        wait_for(lambda: w.stats.write_errors >= 1, 30, "a failed write")
        assert w.stats.stored == 0
        blocker.execute("ROLLBACK")
        wait_for(lambda: w.stats.stored == 3, 60, "the retried batch to be stored")
        assert Store(db).db.execute("SELECT count(*) FROM summaries").fetchone()[0] == 3
    finally:
        blocker.close()
        pub.loop_stop()
        w.stop()


def test_hourly_history_pages_through_every_row(db_url: str) -> None:
    from collector.retention import downsample
    from collector.users import add_token

    st = Store(db_url)
    hour = 1_785_715_200.0
    st.ingest([summary(i + 1, device=f"heat-{i % 3}", end=hour + 3600 * (i // 3) + 600)
               for i in range(15)])  # 3 devices × 5 hours
    downsample(st.db, cutoff=hour + 10 * 3600)
    token = add_token(st.db, "t", "planner")
    st.close()
    c = create_app({"DATABASE": db_url, "TESTING": True}).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    seen, cursor = [], ""
    for _ in range(10):
        page = c.get(f"/api/v1/summaries/hourly?limit=4{cursor}", headers=auth).get_json()
        seen += [(i["hour"], i["device"]) for i in page["items"]]
        if page["next"] is None:
            break
        cursor = f"&cursor={page['next']}"
    assert seen == sorted((hour + 3600 * h, f"heat-{d}") for h in range(5) for d in range(3))
