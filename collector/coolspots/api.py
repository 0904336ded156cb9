"""The heat-geography API: cool spots open at a moment, cool routes, modelled shade on the
streets, modelled against measured sun/shade, the town's alert; operators' tasks."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from flask import Blueprint, abort, current_app, g, jsonify, request

from ..app import get_db
from ..auth import get_write_db, require
from .config import GeoConfig
from .moe import forecast_at
from .registry import list_spots, special_alert, spot_json
from .tasks import list_tasks, live_wbgt, mark_done, task_json, town_settings

bp = Blueprint("coolspots", __name__, url_prefix="/api/v1")
JST = timezone(timedelta(hours=9))
OPERATORS = ("admin", "planner")
SHELTER_NEAR_M = 150.0  # open shelters this close to the cool route are listed with it
LIVE_WINDOW_S = 3600.0  # `at` within this of the newest readings uses them, else the forecast
_lock = threading.Lock()


@bp.errorhandler(400)
def _bad(err: Any) -> Any:
    return jsonify({"error": "bad_request", "message": err.description}), 400


def _unavailable(msg: str) -> Any:
    return jsonify({"error": "unavailable", "message": msg}), 503


def _at() -> float:
    raw = request.args.get("at")
    if not raw:
        return time.time()
    try:
        t = datetime.fromisoformat(raw.strip())
    except ValueError:
        abort(400, description="at must be an ISO 8601 time, e.g. 2026-08-03T14:00+09:00")
    if t.tzinfo is None:
        t = t.replace(tzinfo=JST)
    return t.timestamp()


def _point(name: str) -> tuple[float, float]:
    raw = request.args.get(name, "")
    try:
        lat, lon = (float(v) for v in raw.split(","))
    except ValueError:
        abort(400, description=f"{name} must be LAT,LON in degrees")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        abort(400, description=f"{name} is not a latitude,longitude")
    return lat, lon


def exposure() -> Any:
    """The town's StreetExposure, built once per process from the configured files (None when
    no streets are configured)."""
    app = current_app
    state = app.extensions.get("machimori_geo")
    if state is None:
        with _lock:
            state = app.extensions.get("machimori_geo")
            if state is None:
                state = _load(GeoConfig.from_app(app.config))
                app.extensions["machimori_geo"] = state
    return state.get("exposure")


def _load(cfg: GeoConfig) -> dict[str, Any]:
    from machimori.geo import GeoFormatError, read_map
    from machimori.geo.exposure import StreetExposure

    if not cfg.streets:
        return {"exposure": None, "error": "no street graph configured (HEAT_STREETS)"}
    try:
        data = read_map(cfg.streets)
        buildings = list(data.buildings)
        for path in cfg.buildings:
            buildings.extend(read_map(path).buildings)
        return {"exposure": StreetExposure(data.streets, buildings), "error": None}
    except (OSError, GeoFormatError, ValueError) as exc:
        current_app.logger.error("heat streets: %s", exc)
        return {"exposure": None, "error": str(exc)}


@bp.get("/coolspots")
def coolspots() -> Any:
    at = _at()
    db = get_db()
    kind = request.args.get("kind")
    if kind and kind not in ("shelter", "partner", "coolspot"):
        abort(400, description="kind must be shelter, partner or coolspot")
    town = town_settings(db)
    alert = special_alert(db, at, town.pref_code, town.area_code)
    items = [spot_json(r, at, alert["level"]) for r in list_spots(db)
             if not kind or r["kind"] == kind]
    if request.args.get("open") == "1":
        items = [i for i in items if i["open"]]
    return jsonify({"at": at, "alert": alert, "items": items})


@bp.get("/heat/alerts")
def heat_alerts() -> Any:
    at = _at()
    db = get_db()
    town = town_settings(db)
    return jsonify({"at": at, "alert": special_alert(db, at, town.pref_code, town.area_code),
                    "forecast_point": town.forecast_point,
                    "forecast_wbgt": forecast_at(db, town.forecast_point, at)})


def _edge_wbgt(exp: Any, at: float) -> tuple[np.ndarray | None, str]:
    """WBGT near each street edge: live sensors when `at` is near their readings, else the
    town's forecast point, else none."""
    db = get_db()
    readings = live_wbgt(db, at)
    if readings:
        lat, lon, w = (np.array(v) for v in zip(*readings, strict=True))
        return exp.wbgt_near_edges(lat, lon, w), "live"
    fc = forecast_at(db, town_settings(db).forecast_point, at)
    if fc is not None:
        return np.full(exp.graph.edges, fc), "forecast"
    return None, "none"


@bp.get("/route")
def route() -> Any:
    from machimori.geo.route import MODES, RouteError, distance_to_route

    start, end, at = _point("from"), _point("to"), _at()
    mode = request.args.get("mode", "balanced")
    if mode not in MODES:
        abort(400, description=f"mode must be one of {', '.join(MODES)}")
    exp = exposure()
    if exp is None:
        return _unavailable(current_app.extensions["machimori_geo"]["error"])
    wbgt, source = _edge_wbgt(exp, at)
    try:
        plan = exp.plan(start, end, at, mode, wbgt)
    except RouteError as exc:
        return jsonify({"error": "no_route", "message": str(exc)}), 422
    db = get_db()
    town = town_settings(db)
    level = special_alert(db, at, town.pref_code, town.area_code)["level"]
    spots = [spot_json(r, at, level) for r in list_spots(db) if r["lat"] is not None]
    near = []
    if spots:
        from machimori.geo.route import Route

        cool = plan["cool"]
        pts = tuple((c[1], c[0]) for c in cool["geometry"]["coordinates"])
        r = Route(cool["length_m"], cool["sun_m"], pts, 0.0)
        d = distance_to_route(r, exp.graph, np.array([s["lat"] for s in spots]),
                              np.array([s["lon"] for s in spots]))
        for s, dist in sorted(zip(spots, d.tolist(), strict=True), key=lambda p: p[1]):
            if dist <= SHELTER_NEAR_M and s["open"]:
                near.append({"id": s["id"], "name": s["name"], "kind": s["kind"],
                             "lat": s["lat"], "lon": s["lon"], "distance_m": round(dist, 1)})
    plan["cool"]["shelters"] = near
    plan["wbgt_source"] = source
    return jsonify(plan)


@bp.get("/shade")
def shade() -> Any:
    """Modelled sunlit fraction of every street edge at `at`, as GeoJSON (for the map layer)."""
    at = _at()
    exp = exposure()
    if exp is None:
        return _unavailable(current_app.extensions["machimori_geo"]["error"])
    g_ = exp.graph
    sun = exp.sunlit(at)
    feats = []
    for e in range(g_.edges):
        lat, lon = g_.frame.to_latlon(g_.edge_xy[e][:, 0], g_.edge_xy[e][:, 1])
        feats.append({"type": "Feature", "properties": {"sun": round(float(sun[e]), 3)},
                      "geometry": {"type": "LineString", "coordinates": [
                          [round(float(a), 6), round(float(b), 6)]
                          for a, b in zip(lon, lat, strict=True)]}})
    s = exp.sun(at)
    return current_app.response_class(json.dumps({
        "type": "FeatureCollection", "at": at,
        "sun": {"elevation": round(s.elevation, 2), "azimuth": round(s.azimuth, 2)},
        "features": feats}), mimetype="application/geo+json")


@bp.get("/shade/compare")
def shade_compare() -> Any:
    """Each heat sensor's measured sun/shade (its newest window) against the modelled shade at
    its place and the time of that window."""
    exp = exposure()
    if exp is None:
        return _unavailable(current_app.extensions["machimori_geo"]["error"])
    rows = get_db().execute("SELECT id, lat, lon, latest_end, state FROM devices WHERE "
                            "kind = 'heat' AND lat IS NOT NULL ORDER BY id").fetchall()
    items = []
    for r in rows:
        state = json.loads(r["state"]) if r["state"] else {}
        measured = state.get("sun") if isinstance(state, dict) else None
        if measured not in ("sun", "shade"):
            measured = "unknown"
        lit = bool(exp.point_sunlit(np.array([r["lat"]]), np.array([r["lon"]]),
                                    r["latest_end"])[0])
        modelled = "sun" if lit else "shade"
        items.append({"device": r["id"], "at": r["latest_end"], "measured": measured,
                      "modelled": modelled,
                      "agree": None if measured == "unknown" else measured == modelled})
    known = [i for i in items if i["agree"] is not None]
    return jsonify({"items": items, "compared": len(known),
                    "agreement": round(sum(i["agree"] for i in known) / len(known), 3)
                    if known else None})


@bp.get("/coolspots/tasks")
@require(*OPERATORS)
def tasks() -> Any:
    rows = list_tasks(get_db(), open_only=request.args.get("all") != "1")
    return jsonify({"items": [task_json(r) for r in rows]})


@bp.post("/coolspots/tasks/<int:task_id>/done")
@require(*OPERATORS)
def task_done(task_id: int) -> Any:
    if not mark_done(get_write_db(), task_id, g.principal.name):
        return jsonify({"error": "not_found", "message": "no such open task"}), 404
    return jsonify({"id": task_id, "done": True})
