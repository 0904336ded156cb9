"""JSON API under /api/v1 (docs/api.md)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import orjson
from flask import Blueprint, abort, current_app, jsonify, request

from machimori.contract.wbgt import level_json

from .app import get_db
from .heat_readings import freshness, json_response, reading

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/health")
def health() -> Any:
    db = get_db()
    db.execute("SELECT 1").fetchone()
    gws = db.execute("SELECT count(*), sum(CASE WHEN state = 'online' THEN 1 ELSE 0 END) "
                     "FROM gateways").fetchone()
    return jsonify({"status": "ok", "time": time.time(),
                    "gateways": {"known": gws[0], "online": gws[1] or 0}})


@bp.get("/sensors")
def sensors() -> Any:
    rows = get_db().execute(
        "SELECT id, gw, lat, lon, name, height_m, latest_end, latest, wbgt_level, state "
        "FROM devices WHERE kind = 'heat' ORDER BY id").fetchall()
    newest = max((r["latest_end"] for r in rows), default=0.0)
    stale_after = current_app.config["STALE_AFTER_S"]
    out = []
    for r in rows:
        item: dict[str, Any] = {"id": r["id"], "gw": r["gw"], "lat": r["lat"], "lon": r["lon"],
                                "name": r["name"], "updated": r["latest_end"]}
        item.update(reading(orjson.loads(r["latest"])))
        item["wbgt_level"] = level_json(r["wbgt_level"])
        item["state"] = orjson.loads(r["state"]) if r["state"] else None
        item["age_s"], item["stale"] = freshness(r["latest_end"], newest, stale_after)
        out.append(item)
    _modelled_shade(out, newest)
    return json_response({"sensors": out, "time": time.time(), "newest": newest or None})


def _modelled_shade(items: list[dict[str, Any]], at: float) -> None:
    """Where the town's streets and buildings are configured (docs/heat.md), each sensor's
    modelled shade at the newest reading's time: 1 in a building's shadow (or at night), 0 in
    the sun — the map's "modelled shade" layer, beside the measured sun/shade."""
    from .coolspots.api import exposure

    exp = exposure()
    placed = [i for i in items if i["lat"] is not None and i["lon"] is not None]
    if exp is None or not placed or not at:
        return
    # The map asks every few seconds but the answer changes only with the newest window or a
    # moved sensor: keep the last one instead of ray-marching every sensor on every request.
    key = (at, tuple((i["id"], i["lat"], i["lon"]) for i in placed))
    cached = current_app.extensions.get("machimori_modelled_shade")
    if cached is None or cached[0] != key:
        lit = exp.point_sunlit(np.array([i["lat"] for i in placed]),
                               np.array([i["lon"] for i in placed]), at)
        cached = (key, [0.0 if sunlit else 1.0 for sunlit in lit])
        current_app.extensions["machimori_modelled_shade"] = cached
    for item, shade in zip(placed, cached[1], strict=True):
        item["modelled_shade"] = shade


def time_arg(name: str) -> float | None:
    """A query parameter in Unix seconds; None when absent; 400 naming it when not a number."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        abort(400, description=f"{name} must be a number (Unix seconds)")


def _span(db: Any, kind: str) -> tuple[float, float] | None:
    """The plot's time range: ?since=&until=, by default the 6 h up to the newest window of
    `kind`; None when there is no data yet."""
    until = time_arg("until")
    since = time_arg("since")
    if until is None:
        until = db.execute('SELECT max("end") FROM summaries WHERE kind = ?', (kind,)).fetchone()[0]
        if until is None:
            return None
    return (until - 6 * 3600 if since is None else since), until


def _complete(points: list[dict[str, Any]], count: str) -> list[dict[str, Any]]:
    """Drop the newest window while it is still arriving (fewer reporters than the window
    before it), so an area's mean does not dip or jump at the right-hand edge of a plot."""
    if len(points) >= 2 and points[-1][count] < points[-2][count]:
        return points[:-1]
    return points


@bp.get("/heat/trend")
def heat_trend() -> Any:
    """Area mean and max WBGT per summary window, for the heat page's plot."""
    db = get_db()
    if (span := _span(db, "heat")) is None:
        return jsonify({"points": []})
    since, until = span
    # wbgt_mean / wbgt_max: columns with a covering index (migration 0020), not JSON per row.
    rows = db.execute(
        'SELECT "end" AS t, avg(wbgt_mean) AS mean, max(wbgt_max) AS mx, count(*) AS n '
        "FROM summaries WHERE kind='heat' AND \"end\" > ? AND \"end\" <= ? "
        'GROUP BY "end" ORDER BY "end"', (since, until)).fetchall()
    points = [{"t": r["t"], "mean": round(r["mean"], 2), "max": r["mx"], "n": r["n"]}
              for r in rows if r["mean"] is not None]
    return jsonify({"points": _complete(points, "n")})


@bp.get("/people/trend")
def people_trend() -> Any:
    """Devices counted near the gateways per window (sum over gateways), with the area's mean
    WBGT of the same window: how people flow answers the heat. Counts only, never addresses."""
    db = get_db()
    if (span := _span(db, "people")) is None:
        return jsonify({"points": []})
    since, until = span
    people = db.json_number('"values"', "unique_devices", "last")
    rows = db.execute(
        f'SELECT "end" AS t, sum(CASE WHEN kind = \'people\' THEN {people} END) AS people, '
        "avg(CASE WHEN kind = 'heat' THEN wbgt_mean END) AS wbgt, "
        "sum(CASE WHEN kind = 'people' THEN 1 ELSE 0 END) AS gateways FROM summaries "
        "WHERE kind IN ('people', 'heat') AND \"end\" > ? AND \"end\" <= ? "
        'GROUP BY "end" ORDER BY "end"', (since, until)).fetchall()
    points = [{"t": r["t"], "people": round(r["people"], 1), "gateways": r["gateways"],
               "wbgt": None if r["wbgt"] is None else round(r["wbgt"], 2)}
              for r in rows if r["people"] is not None]
    return jsonify({"points": _complete(points, "gateways")})


@bp.get("/basemap")
def basemap() -> Any:
    path = current_app.config.get("BASEMAP")
    if not path:
        return jsonify({"type": "FeatureCollection", "features": []})
    with open(path, encoding="utf-8") as f:
        return current_app.response_class(f.read(), mimetype="application/geo+json")


@bp.get("/openapi.json")
def openapi() -> Any:
    from importlib import resources

    text = resources.files("collector").joinpath("openapi.json").read_text(encoding="utf-8")
    return current_app.response_class(text, mimetype="application/json")


@bp.errorhandler(400)
def bad_request(err: Any) -> Any:
    return jsonify({"error": "bad_request", "message": err.description}), 400
