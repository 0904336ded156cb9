"""Cool-spot actuators in the API: their state for the map, the command log, manual commands."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, g, jsonify, request

from . import actuators as act
from .app import get_db
from .auth import get_write_db, require

bp = Blueprint("api_actuators", __name__, url_prefix="/api/v1")


def _item(a: act.Actuator, extra: Any, now: float) -> dict[str, Any]:
    wbgt, override, rh = extra if extra else (None, None, None)
    return {"override": None if override is None else bool(override), "device_rh": rh,
            "id": a.id, "gw": a.gw, "name": a.name, "lat": a.lat, "lon": a.lon,
            "radius_m": a.radius_m, "on_wbgt": a.on_wbgt, "off_wbgt": a.off_wbgt,
            "auto": a.auto, "state": act.effective_state(a, now), "state_at": a.state_at,
            "wbgt_c": wbgt}


@bp.get("/actuators")
def actuators() -> Any:
    """Public, like /sensors: where the mist and fans are and whether they run."""
    db = get_db()
    now = time.time()
    extra = {r["id"]: (r["wbgt"], r["override"], r["device_rh"])
             for r in db.execute("SELECT id, wbgt, override, device_rh FROM actuators")}
    return jsonify({"actuators": [_item(a, extra.get(a.id), now) for a in act.all_actuators(db)],
                    "time": now})


@bp.get("/actuators/commands")
@require("admin", "planner")
def commands() -> Any:
    aid = request.args.get("actuator") or None
    return jsonify({"commands": act.command_log(get_db(), aid, limit=200)})


@bp.post("/actuators/<aid>/command")
@require("admin")
def command(aid: str) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("action") not in ("on", "off"):
        return jsonify({"error": "bad_request",
                        "message": 'send JSON {"action": "on" | "off", "hold_s": 10..86400}'}), 400
    db = get_write_db()
    a = act.get(db, aid)
    if a is None:
        return jsonify({"error": "not_found", "message": f"no actuator {aid!r}"}), 404
    hold = body.get("hold_s")
    if hold is not None and (not isinstance(hold, int) or isinstance(hold, bool)):
        return jsonify({"error": "bad_request", "message": "hold_s must be an integer"}), 400
    try:
        cid = act.queue_command(db, a, body["action"], f"admin:{g.principal.name}",
                                "manual", None, time.time(), hold)
    except act.ActuatorError as exc:
        return jsonify({"error": "bad_request", "message": str(exc)}), 400
    return jsonify({"id": cid, "queued": True}), 202
