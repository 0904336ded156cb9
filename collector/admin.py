"""Admin pages: the gateway and device registry, and users. Admins only."""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, g, render_template, request

from .app import get_db
from .auth import get_write_db, require
from .i18n import TEXTS, lang
from .users import (
    PEOPLE_ROLES,
    ROLES,
    UserError,
    add_user,
    end_sessions,
    list_tokens,
    list_users,
    revoke_token,
    session_counts,
    set_disabled,
    set_password,
    set_role,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
# The same colours, in the same order, are the .gw-cN classes of static/site.css (no inline styles).
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
    """Accounts and API tokens: add, disable, change role, reset password, sign out
    everywhere, revoke. Every change that takes rights away ends the user's sessions."""
    t = TEXTS[lang()]
    message = error = None
    status = 200
    db = get_write_db()
    if request.method == "POST":
        f = request.form
        action = f.get("action", "add")
        name = f.get("username", "").strip()
        try:
            if action == "add":
                add_user(db, name, f.get("password", ""), f.get("role", ""))
                message = t["user_added"]
            elif name == g.principal.name and action in ("disable", "role"):
                raise UserError("you cannot disable yourself or change your own role")
            elif action == "disable":
                set_disabled(db, name, True)
            elif action == "enable":
                set_disabled(db, name, False)
            elif action == "role":
                set_role(db, name, f.get("role", ""))
            elif action == "password":
                set_password(db, name, f.get("password", ""))
            elif action == "logout":
                end_sessions(db, name)
            elif action == "revoke":
                revoke_token(db, int(f.get("token_id", "0") or 0))
            else:
                raise UserError(f"unknown action {action[:20]!r}")
            message = message or t["done"]
        except (UserError, ValueError) as exc:
            error, status = str(exc), 400
    page = render_template("admin_users.html", **_ctx(
        users=list_users(db), roles=PEOPLE_ROLES, token_roles=ROLES, message=message,
        error=error, me=g.principal, sessions=session_counts(db), tokens=list_tokens(db)))
    return page, status
