"""The heat map's API: the level vocabulary, the sensors at a past moment, one sensor's series.

All of it is heat data, public like /api/v1/sensors (docs/api.md). A sensor's reading is the
newest window at or before the moment asked; when the raw windows have been folded by
retention, the hourly row stands in for them.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, current_app, jsonify

from machimori.contract.wbgt import level_json, level_of, vocabulary

from .api import bad_request, time_arg
from .app import get_db
from .heat_readings import freshness, json_response, reading

bp = Blueprint("heat_api", __name__, url_prefix="/api/v1/heat")
bp.register_error_handler(400, bad_request)
SERIES_FIELDS = ("wbgt_c", "air_c", "surface_c", "humidity")
MAX_SERIES_POINTS = 2000
# Each heat sensor's newest window in ("end" <= t, "end" > t - window), per dialect: SQLite is
# driven from the per-device maximum into the (device, end) index (with a filter on the outer
# kind it scanned every window, 10x slower); PostgreSQL hash-joined that against a scan of the
# whole table, and takes DISTINCT ON over the index range instead (bench/heat_api.py).
NEWEST_WINDOW_SQL = {
    "sqlite": 'SELECT s.device, s."end", s."values", s.wbgt_level FROM summaries s JOIN '
              '(SELECT device, max("end") AS e FROM summaries WHERE kind = \'heat\' '
              'AND "end" <= ? AND "end" > ? GROUP BY device) m '
              'ON s.device = m.device AND s."end" = m.e',
    "postgresql": 'SELECT DISTINCT ON (device) device, "end", "values", wbgt_level '
                  'FROM summaries WHERE kind = \'heat\' AND "end" <= ? AND "end" > ? '
                  'ORDER BY device, "end" DESC',
}


@bp.get("/levels")
def levels() -> Any:
    """The WBGT level vocabulary (names, bounds, colours, advice) for the pages."""
    resp = jsonify(vocabulary())
    resp.cache_control.max_age = 3600
    resp.cache_control.public = True
    return resp


@bp.get("/at")
def at() -> Any:
    """Every heat sensor as it was at ?t= (Unix seconds; default the newest reading): the
    time slider's frame."""
    db = get_db()
    t = time_arg("t")
    if t is None:  # the newest moment: the same frame as the live map
        t = db.execute("SELECT max(latest_end) FROM devices WHERE kind = 'heat'").fetchone()[0]
        if t is None:
            return jsonify({"t": None, "sensors": []})
    window = float(current_app.config["STALE_AFTER_S"])
    rows = db.execute(NEWEST_WINDOW_SQL[db.dialect], (t, t - window)).fetchall()
    found: dict[str, tuple[float, dict[str, Any], int | None]] = {
        r["device"]: (r["end"], orjson.loads(r["values"]), r["wbgt_level"]) for r in rows}
    # Older than the raw windows kept: the hour that holds t, from retention's hourly rows.
    hourly = db.execute(
        'SELECT device, last_end, "values" FROM summaries_hourly WHERE kind = \'heat\' '
        "AND hour <= ? AND hour > ?", (t, t - 3600)).fetchall()
    for r in hourly:
        if r["device"] not in found:
            v = orjson.loads(r["values"])
            lv = level_of(v["wbgt_c"]["mean"]) if "wbgt_c" in v else None
            found[r["device"]] = (min(r["last_end"], t), v, lv)
    devices = db.execute("SELECT id, gw, lat, lon, name FROM devices WHERE kind = 'heat' "
                         "ORDER BY id").fetchall()
    out = []
    for d in devices:
        end, values, lv = found.get(d["id"], (None, {}, None))
        item: dict[str, Any] = {"id": d["id"], "gw": d["gw"], "lat": d["lat"],
                                "lon": d["lon"], "name": d["name"], "updated": end}
        item.update(reading(values))
        item["wbgt_level"] = level_json(lv)
        item["state"] = None  # detector state is kept for the newest window only
        item["age_s"], item["stale"] = freshness(end, t, window)
        out.append(item)
    return json_response({"t": t, "sensors": out})


@bp.get("/times")
def times() -> Any:
    """The moments the slider can show in ?since=&until= (default the 24 h up to the newest):
    every heat window's end (read from the index alone), and the middle of each hour whose
    windows retention has folded into an hourly row."""
    db = get_db()
    until = time_arg("until")
    since = time_arg("since")
    if until is None:
        until = db.execute("SELECT max(latest_end) FROM devices WHERE kind = 'heat'"
                           ).fetchone()[0]
        if until is None:
            return jsonify({"times": []})
    if since is None:
        since = until - 24 * 3600
    raw = [r[0] for r in db.execute(
        'SELECT DISTINCT "end" FROM summaries WHERE kind = \'heat\' AND "end" > ? '
        'AND "end" <= ? ORDER BY "end"', (since, until)).fetchall()]
    # Hours that retention folded (no raw window left in them): their middle, which /at
    # answers from the hourly rows.
    have = {int(t // 3600) for t in raw}
    hours = [r[0] + 1800 for r in db.execute(
        "SELECT DISTINCT hour FROM summaries_hourly WHERE kind = 'heat' AND hour + 1800 > ? "
        "AND hour + 1800 <= ? ORDER BY hour", (since, until)).fetchall()
        if int(r[0] // 3600) not in have]
    return jsonify({"times": sorted(raw + hours)})


@bp.get("/sensors/<device>/series")
def series(device: str) -> Any:
    """One sensor's WBGT, air, surface temperature and humidity over time, for its chart:
    ?since=&until= (Unix seconds; default the 24 h up to its newest window)."""
    db = get_db()
    if db.execute("SELECT 1 FROM devices WHERE id = ? AND kind = 'heat'",
                  (device,)).fetchone() is None:
        return jsonify({"error": "not_found", "message": f"no heat sensor {device!r}"}), 404
    until = time_arg("until")
    since = time_arg("since")
    if until is None:
        until = db.execute('SELECT max("end") FROM summaries WHERE device = ?',
                           (device,)).fetchone()[0]
        if until is None:
            until = db.execute("SELECT max(last_end) FROM summaries_hourly WHERE device = ?",
                               (device,)).fetchone()[0] or 0.0
    if since is None:
        since = until - 24 * 3600
    rows = db.execute(
        'SELECT last_end AS t, "values" FROM summaries_hourly WHERE device = ? '
        "AND last_end > ? AND last_end <= ? ORDER BY hour", (device, since, until)
    ).fetchall() + db.execute(
        'SELECT "end" AS t, "values" FROM summaries WHERE device = ? AND "end" > ? '
        'AND "end" <= ? ORDER BY "end" DESC LIMIT ?',
        (device, since, until, MAX_SERIES_POINTS)).fetchall()[::-1]
    points = []
    for r in rows:
        v = orjson.loads(r["values"])
        p: dict[str, Any] = {"t": r["t"]}
        for f in SERIES_FIELDS:
            p[f] = v[f]["mean"] if f in v else None
        points.append(p)
    points.sort(key=lambda p: p["t"])
    return json_response({"device": device, "since": since, "until": until, "points": points})
