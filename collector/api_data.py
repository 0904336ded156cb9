"""The data API: summaries, events, gateways, devices, dead letters — signed in, paginated.

Pagination is by keyset: each page returns `next`, an opaque cursor for the following page.
Filters: device, kind, gw, since/until (Unix seconds) and bbox=minlon,minlat,maxlon,maxlat.
Which kinds a role sees comes from machimori/contract/sensitivity.py, the one table.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Blueprint, abort, g, jsonify, request

from machimori.contract.sensitivity import (
    event_class,
    event_kinds_for,
    summary_class,
    summary_kinds_for,
)

from .api import bad_request, time_arg
from .app import get_db
from .auth import require

bp = Blueprint("api_data", __name__, url_prefix="/api/v1")
bp.register_error_handler(400, bad_request)
WATCH_ROLES = ("admin", "responder")
MAX_LIMIT = 1000


def _limit() -> int:
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        abort(400, description=f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def _bbox() -> tuple[float, float, float, float] | None:
    raw = request.args.get("bbox")
    if not raw:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in raw.split(","))
    except ValueError:
        abort(400, description="bbox must be minlon,minlat,maxlon,maxlat")
    if not (x0 <= x1 and y0 <= y1):
        abort(400, description="bbox: min must not exceed max")
    return x0, y0, x1, y1


def _cursor() -> tuple[float, str] | None:
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        t, key = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return float(t), str(key)
    except (ValueError, TypeError):
        abort(400, description="cursor is not one this API gave out")


def _encode_cursor(t: float, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([t, key]).encode()).decode()


def _page(table: str, time_col: str, where: list[str], args: list[Any],
          row_fn: Any, key_col: str = "id") -> Any:
    """One page ordered by (time_col, key_col), with the common filters and a keyset cursor."""
    since, until, limit, cur = time_arg("since"), time_arg("until"), _limit(), _cursor()
    if since is not None:
        where.append(f"{time_col} >= ?")
        args.append(since)
    if until is not None:
        where.append(f"{time_col} < ?")
        args.append(until)
    if (box := _bbox()) is not None:
        where.append("device IN (SELECT id FROM devices WHERE lon >= ? AND lat >= ? AND "
                     "lon <= ? AND lat <= ?)")
        args.extend(box)
    for name in ("device", "gw"):
        if v := request.args.get(name):
            where.append(f"{name} = ?")
            args.append(v)
    if cur is not None:
        where.append(f"({time_col} > ? OR ({time_col} = ? AND {key_col} > ?))")
        args.extend([cur[0], cur[0], cur[1]])
    sql = (f"SELECT * FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")
           + f" ORDER BY {time_col}, {key_col} LIMIT ?")
    rows = get_db().execute(sql, (*args, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    nxt = _encode_cursor(last[time_col.strip('"')], last[key_col]) if more and last else None
    return jsonify({"items": [row_fn(r) for r in rows], "next": nxt})


def _sees_everything(role: str) -> bool:
    # Roles that see personal data through the general API see every kind, unknown ones too
    # (an unknown kind counts as personal).
    return summary_kinds_for(role) == summary_kinds_for("admin")


def _restrict(where: list[str], args: list[Any], kinds: tuple[str, ...]) -> None:
    where.append("kind IN (" + ",".join("?" * len(kinds)) + ")" if kinds else "1 = 0")
    args.extend(kinds)


def _kind_filter(where: list[str], args: list[Any]) -> Any:
    """Restrict summaries to what the role may see; a 403 response if it asked for more."""
    kind = request.args.get("kind")
    role = g.principal.role
    if kind:
        if kind not in summary_kinds_for(role) and not _sees_everything(role):
            cls = summary_class(kind)
            return jsonify({"error": "forbidden",
                            "message": f"{kind} summaries are {cls} data: not for {role}"}), 403
        where.append("kind = ?")
        args.append(kind)
    elif not _sees_everything(role):
        _restrict(where, args, summary_kinds_for(role))
    return None


@bp.get("/summaries")
@require()
def summaries() -> Any:
    where: list[str] = []
    args: list[Any] = []
    if (denied := _kind_filter(where, args)) is not None:
        return denied

    def row(r: Any) -> dict[str, Any]:
        return {"id": r["id"], "gw": r["gw"], "seq": r["seq"], "kind": r["kind"],
                "device": r["device"], "start": r["start"], "end": r["end"], "n": r["n"],
                "values": json.loads(r["values"]), "wbgt_level": r["wbgt_level"],
                "received_at": r["received_at"]}
    return _page("summaries", '"end"', where, args, row)


@bp.get("/summaries/hourly")
@require()
def summaries_hourly() -> Any:
    """Down-sampled history (collector retention): one row per device and hour."""
    where: list[str] = []
    args: list[Any] = []
    if (denied := _kind_filter(where, args)) is not None:
        return denied

    def row(r: Any) -> dict[str, Any]:
        return {"device": r["device"], "hour": r["hour"], "kind": r["kind"], "gw": r["gw"],
                "windows": r["windows"], "n": r["n"], "values": json.loads(r["values"])}
    return _page("summaries_hourly", "hour", where, args, row, key_col="device")


@bp.get("/events")
@require(*WATCH_ROLES)
def events() -> Any:
    where: list[str] = []
    args: list[Any] = []
    role = g.principal.role
    if kind := request.args.get("kind"):
        if kind not in event_kinds_for(role) and not _sees_everything(role):
            return jsonify({"error": "forbidden", "message":
                            f"{kind} events are {event_class(kind)} data: not for {role}"}), 403
        where.append("kind = ?")
        args.append(kind)
    elif not _sees_everything(role):
        _restrict(where, args, event_kinds_for(role))
    if (pr := request.args.get("min_priority")) is not None:
        if pr not in ("0", "1", "2", "3"):
            abort(400, description="min_priority must be 0..3")
        where.append("priority >= ?")
        args.append(int(pr))

    def row(r: Any) -> dict[str, Any]:
        return {"id": r["id"], "gw": r["gw"], "seq": r["seq"], "kind": r["kind"],
                "device": r["device"], "ts": r["ts"], "priority": r["priority"],
                "data": json.loads(r["data"]), "received_at": r["received_at"]}
    return _page("events", "ts", where, args, row)


@bp.get("/gateways")
@require("admin", "planner")
def gateways() -> Any:
    rows = get_db().execute(
        "SELECT g.id, g.state, g.ts, g.version, g.outbox_depth, g.devices, g.updated_at, "
        "g.epoch, g.outbox_bytes, g.outbox_cap_bytes, g.outbox_evicted_summaries, "
        "g.outbox_evicted_events, g.disk_free_bytes, "
        "(SELECT count(*) FROM devices d WHERE d.gw = g.id) AS seen FROM gateways g "
        "ORDER BY g.id").fetchall()
    return jsonify({"items": [{
        "id": r["id"], "state": r["state"], "status_ts": r["ts"], "version": r["version"],
        "outbox_depth": r["outbox_depth"], "devices_enrolled": r["devices"],
        "devices_seen": r["seen"], "updated_at": r["updated_at"],
        **{k: r[k] for k in ("epoch", "outbox_bytes", "outbox_cap_bytes",
                             "outbox_evicted_summaries", "outbox_evicted_events",
                             "disk_free_bytes")}} for r in rows]})


@bp.get("/devices")
@require("admin", "planner")
def devices() -> Any:
    where: list[str] = []
    args: list[Any] = []
    if kind := request.args.get("kind"):
        where.append("kind = ?")
        args.append(kind)
    if not _sees_everything(g.principal.role):
        # A planner gets the network (heat nodes, gateways' counts), never residents' tags or
        # households' meters with their names and positions.
        _restrict(where, args, summary_kinds_for(g.principal.role))
    if (box := _bbox()) is not None:
        where.append("lon >= ? AND lat >= ? AND lon <= ? AND lat <= ?")
        args.extend(box)
    rows = get_db().execute(
        "SELECT id, kind, gw, lat, lon, name, height_m, latest_end FROM devices"
        + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id", args).fetchall()
    return jsonify({"items": [{k: r[k] for k in ("id", "kind", "gw", "lat", "lon", "name",
                                                 "height_m", "latest_end")} for r in rows]})


@bp.get("/dead-letters")
@require("admin")
def dead_letters() -> Any:
    limit = _limit()
    rows = get_db().execute("SELECT id, topic, payload, reason, received_at FROM dead_letters "
                            "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return jsonify({"items": [{
        "id": r["id"], "topic": r["topic"], "reason": r["reason"],
        "received_at": r["received_at"],
        "payload_b64": base64.b64encode(bytes(r["payload"])).decode()} for r in rows]})


