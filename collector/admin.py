"""Admin pages: the gateway and device registry, and users. Admins only."""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, g, render_template, request

from .app import get_db
from .auth import get_write_db, require
from .i18n import TEXTS, lang
from .users import ROLES, UserError, add_user, list_users

bp = Blueprint("admin", __name__, url_prefix="/admin")
GW_COLOURS = ("#0f5c4d", "#d9480f", "#1c7ed6", "#ae3ec9", "#2b8a3e", "#e67700", "#495057")


def _ctx(**kw: Any) -> dict[str, Any]:
    return {"t": TEXTS[lang()], "lang": lang(), **kw}


def _device_map(devices: list[Any], colour: dict[str, str]) -> list[dict[str, Any]]:
    """Server-side projection of device positions into a 600×360 SVG, coloured by gateway."""
    pts = [d for d in devices if d["lat"] is not None and d["lon"] is not None]
    if not pts:
        return []
    lat0, lat1 = min(d["lat"] for d in pts), max(d["lat"] for d in pts)
    lon0, lon1 = min(d["lon"] for d in pts), max(d["lon"] for d in pts)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    w, h = max((lon1 - lon0) * k, 1e-6), max(lat1 - lat0, 1e-6)
    s = min(560 / w, 320 / h)
    return [{"x": round(20 + (d["lon"] - lon0) * k * s, 1), "y": round(20 + (lat1 - d["lat"]) * s, 1),
             "id": d["id"], "gw": d["gw"], "kind": d["kind"], "colour": colour.get(d["gw"], "#999")}
            for d in pts]


@bp.get("/")
@bp.get("/gateways")
@require("admin")
def gateways() -> Any:
    db = get_db()
    gws = db.execute("SELECT g.id, g.state, g.ts, g.version, g.outbox_depth, g.updated_at, "
                     "g.outbox_bytes, g.outbox_cap_bytes, g.outbox_evicted_summaries, "
                     "g.outbox_evicted_events, g.disk_free_bytes, "
                     "(SELECT count(*) FROM devices d WHERE d.gw = g.id) AS n FROM gateways g "
                     "ORDER BY g.id").fetchall()
    devices = db.execute("SELECT id, kind, gw, lat, lon FROM devices ORDER BY id").fetchall()
    colours = {r["id"]: GW_COLOURS[i % len(GW_COLOURS)] for i, r in enumerate(gws)}
    return render_template("admin_gateways.html", **_ctx(
        gateways=gws, points=_device_map(devices, colours), now=time.time(), colours=colours))


@bp.get("/devices")
@require("admin")
def devices() -> Any:
    rows = get_db().execute("SELECT id, kind, gw, lat, lon, name, latest_end FROM devices "
                            "ORDER BY kind, id").fetchall()
    return render_template("admin_devices.html", **_ctx(devices=rows))


@bp.route("/users", methods=["GET", "POST"])
@require("admin")
def users() -> Any:
    message = error = None
    status = 200
    if request.method == "POST":
        try:
            add_user(get_write_db(), request.form.get("username", "").strip(),
                     request.form.get("password", ""), request.form.get("role", ""))
            message = TEXTS[lang()]["user_added"]
        except UserError as exc:
            error, status = str(exc), 400
    page = render_template("admin_users.html", **_ctx(
        users=list_users(get_write_db()), roles=ROLES, message=message, error=error,
        me=g.principal))
    return page, status
