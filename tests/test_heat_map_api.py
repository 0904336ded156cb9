"""The heat map's API on SQLite and PostgreSQL: freshness, the time slider's frames, a
sensor's series (also after retention folded it into hours), and the OpenAPI document."""

from __future__ import annotations

import json

import pytest

from collector.app import create_app
from collector.retention import downsample
from collector.store import Store, connect

from .heat_town import SILENT, town_summaries
from .test_collector import T, _openapi_validator, summary

STEP = 600.0


@pytest.fixture
def town(db_url: str):
    """Six hours of the simulated town, one window per node every 10 minutes."""
    town, items = town_summaries(hours=6, step_s=STEP, end=T)
    st = Store(db_url)
    st.ingest(items)
    st.close()
    app = create_app({"DATABASE": db_url, "TESTING": True})
    return town, app.test_client(), items


def _bodies(items):
    return [json.loads(raw) for _, raw in items]


def test_a_silent_sensor_is_stale_with_its_age(town) -> None:
    _, c, _ = town
    body = c.get("/api/v1/sensors").get_json()
    s = {x["id"]: x for x in body["sensors"]}
    assert body["newest"] == T
    assert s[SILENT]["stale"] is True and s[SILENT]["age_s"] == 3600  # its last window ended an hour before the newest
    fresh = [x for x in body["sensors"] if x["id"] != SILENT]
    assert fresh and all(not x["stale"] and x["age_s"] == 0 for x in fresh)


def test_stale_threshold_is_configurable(db_url: str) -> None:
    st = Store(db_url)
    st.ingest([summary(1, device="heat-001", end=T), summary(2, device="heat-002", end=T - 300)])
    st.close()
    strict = create_app({"DATABASE": db_url, "STALE_AFTER_S": 120.0}).test_client()
    s = {x["id"]: x for x in strict.get("/api/v1/sensors").get_json()["sensors"]}
    assert s["heat-002"]["stale"] and s["heat-002"]["age_s"] == 300
    lax = create_app({"DATABASE": db_url, "STALE_AFTER_S": 900.0}).test_client()
    s = {x["id"]: x for x in lax.get("/api/v1/sensors").get_json()["sensors"]}
    assert not s["heat-002"]["stale"]


def test_the_slider_frame_is_each_sensor_at_that_moment(town) -> None:
    _, c, items = town
    t = T - 3 * 3600  # three hours back: the silent node was still reporting
    frame = c.get(f"/api/v1/heat/at?t={t}").get_json()
    got = {s["id"]: s for s in frame["sensors"]}
    want = {b["device"]: b for b in _bodies(items) if b["end"] == t}
    assert set(want) == set(got) and SILENT in want
    for dev, b in want.items():
        assert got[dev]["wbgt_c"] == b["values"]["wbgt_c"]["mean"]
        assert got[dev]["air_c"] == b["values"]["air_c"]["last"]
        assert got[dev]["wbgt_level"]["code"] == b["wbgt_level"]
        assert got[dev]["updated"] == t and not got[dev]["stale"]
    # Between two windows the frame shows the one before.
    mid = c.get(f"/api/v1/heat/at?t={t + STEP / 2}").get_json()
    assert {s["id"]: s["updated"] for s in mid["sensors"]}["heat-001"] == t


def test_the_slider_frame_greys_a_sensor_silent_at_that_moment(town) -> None:
    _, c, _ = town
    newest = c.get("/api/v1/heat/at").get_json()  # default: the newest moment
    assert newest["t"] == T
    frame = {s["id"]: s for s in newest["sensors"]}
    assert frame[SILENT]["stale"] and frame[SILENT]["wbgt_c"] is None
    assert frame[SILENT]["name"]  # still on the map, where it stands


def test_the_slider_reaches_back_into_hourly_history(db_url: str) -> None:
    hour = 1_785_715_200.0  # an hour boundary
    st = Store(db_url)
    st.ingest([summary(i + 1, device="heat-001", end=hour + 600 * (i + 1), wbgt=20.0 + i,
                       level=0) for i in range(5)])
    db = connect(db_url)
    downsample(db, hour + 10 * 3600)  # every window folded into the 09–10 hour
    db.close()
    st.close()
    c = create_app({"DATABASE": db_url}).test_client()
    frame = c.get(f"/api/v1/heat/at?t={hour + 3000}").get_json()["sensors"][0]
    assert frame["wbgt_c"] == pytest.approx(22.0)  # the hour's mean of 20..24
    assert frame["wbgt_level"]["code"] == 1  # the contract's level of that mean
    series = c.get("/api/v1/heat/sensors/heat-001/series").get_json()
    assert [p["wbgt_c"] for p in series["points"]] == [pytest.approx(22.0)]
    # The slider offers that hour (its middle), and the frame there is the hour's row.
    times = c.get(f"/api/v1/heat/times?until={hour + 7200}").get_json()["times"]
    assert times == [hour + 1800]
    frame = c.get(f"/api/v1/heat/at?t={times[0]}").get_json()["sensors"][0]
    assert frame["wbgt_c"] == pytest.approx(22.0)


def test_the_sliders_moments_are_the_windows(town) -> None:
    _, c, items = town
    ends = sorted({b["end"] for b in _bodies(items)})
    assert c.get("/api/v1/heat/times").get_json()["times"] == ends
    assert c.get(f"/api/v1/heat/times?since={T - 3600}").get_json()["times"] == [
        T - 3600 + STEP * k for k in range(1, 7)]


def test_a_sensors_series_for_its_chart(town) -> None:
    _, c, items = town
    want = sorted((b["end"], b["values"]["wbgt_c"]["mean"]) for b in _bodies(items)
                  if b["device"] == "heat-001")
    got = c.get("/api/v1/heat/sensors/heat-001/series").get_json()
    assert [(p["t"], p["wbgt_c"]) for p in got["points"]] == want
    part = c.get(f"/api/v1/heat/sensors/heat-001/series?since={T - 3600}&until={T}").get_json()
    assert [p["t"] for p in part["points"]] == [T - 3600 + STEP * k for k in range(1, 7)]


def test_bad_requests_name_the_problem(town) -> None:
    _, c, _ = town
    r = c.get("/api/v1/heat/at?t=noon")
    assert r.status_code == 400 and "t must be a number" in r.get_json()["message"]
    r = c.get("/api/v1/heat/sensors/heat-999/series")
    assert r.status_code == 404 and "heat-999" in r.get_json()["message"]
    assert c.get("/api/v1/heat/sensors/heat-001/series?since=x").status_code == 400


@pytest.mark.parametrize("url, path, status", [
    ("/api/v1/sensors", "/api/v1/sensors", 200),
    ("/api/v1/heat/levels", "/api/v1/heat/levels", 200),
    ("/api/v1/heat/times", "/api/v1/heat/times", 200),
    ("/api/v1/heat/times?until=x", "/api/v1/heat/times", 400),
    (f"/api/v1/heat/at?t={T - 3600}", "/api/v1/heat/at", 200),
    ("/api/v1/heat/at", "/api/v1/heat/at", 200),
    ("/api/v1/heat/at?t=x", "/api/v1/heat/at", 400),
    ("/api/v1/heat/sensors/heat-001/series", "/api/v1/heat/sensors/{device}/series", 200),
    ("/api/v1/heat/sensors/nope/series", "/api/v1/heat/sensors/{device}/series", 404),
])
def test_responses_match_the_openapi_document(town, url: str, path: str, status: int) -> None:
    _, c, _ = town
    r = c.get(url)
    assert r.status_code == status
    assert list(_openapi_validator(c, path, status).iter_errors(r.get_json())) == []


def test_migration_0020_fills_the_wbgt_columns_of_stored_windows(db_url: str) -> None:
    """A database from before 0020 with heat windows in it: the trend is the same after."""
    from collector.store import _statements, migrate, migrations

    db = connect(db_url)
    db.begin()
    db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, "
               "applied_at DOUBLE PRECISION NOT NULL)")
    for name, sql in migrations(db.dialect):
        if name < "0020":
            for stmt in _statements(sql):
                db.execute(stmt)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, 0.0))
    rows = [json.loads(raw) for _, raw in (summary(i, end=T + 60 * i, wbgt=25.0 + i)
                                           for i in range(1, 4))]
    for b in rows:
        db.execute('INSERT INTO summaries (id, gw, seq, kind, device, start, "end", n, "values", '
                   "wbgt_level, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (b["id"], b["gw"], b["seq"], b["kind"], b["device"], b["start"], b["end"],
                    b["n"], json.dumps(b["values"]), b["wbgt_level"], 0.0))
    db.commit()
    assert migrate(db) == [n for n, _ in migrations(db.dialect) if n >= "0020"]
    got = db.execute('SELECT wbgt_mean, wbgt_max FROM summaries ORDER BY "end"').fetchall()
    assert [tuple(r) for r in got] == [(26.0, 26.0), (27.0, 27.0), (28.0, 28.0)]
    db.close()
    c = create_app({"DATABASE": db_url}).test_client()
    assert [p["mean"] for p in c.get("/api/v1/heat/trend").get_json()["points"]] == [
        26.0, 27.0, 28.0]
