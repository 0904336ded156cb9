"""Cool-spot actuators: the registry, the command log and the controller's decision.

Every command is a row in actuator_commands before it is sent (queued -> sent -> answered), so a
restarted collector neither forgets what it asked nor asks twice. `decide` is pure: the live
WBGT near the spot, the last known relay state and the log's timing in; on, off or nothing out.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from machimori.contract import actuator as ac
from machimori.contract.mqtt import GW_ID_RE

from .db import Database

STALE_S = 600.0  # a sensor's latest window older than this is not "live"
ANSWER_S = 120.0  # a command with no ack after this is failed (the controller may try again)
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class ActuatorError(ValueError):
    """A registration or command the collector refuses; the message says why."""


@dataclass(frozen=True)
class Actuator:
    id: str
    gw: str
    name: str
    lat: float
    lon: float
    radius_m: float
    on_wbgt: float
    off_wbgt: float
    min_interval_s: float
    hold_s: int
    auto: bool
    state: str  # "on" | "off" | "unknown": what the device last said
    state_at: float | None


def register(db: Database, *, id: str, gw: str, lat: float, lon: float, on_wbgt: float,
             off_wbgt: float | None = None, radius_m: float = 150.0, name: str = "",
             min_interval_s: float = 300.0, hold_s: int = 900, auto: bool = True,
             now: float) -> Actuator:
    if not DEVICE_ID_RE.match(id):
        raise ActuatorError("id: use letters, digits and _ . : - (max 64), as on the gateway")
    if not GW_ID_RE.match(gw):
        raise ActuatorError("gw: a gateway id such as gw-01")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ActuatorError("lat/lon: decimal degrees")
    off = on_wbgt - 1.0 if off_wbgt is None else off_wbgt
    if not (10 <= on_wbgt <= 40) or off > on_wbgt:
        raise ActuatorError("on_wbgt must be 10..40 °C and off_wbgt at most on_wbgt")
    if not (1 <= radius_m <= 5000 and 0 <= min_interval_s <= 86400 and 10 <= hold_s <= 86400):
        raise ActuatorError("radius_m 1..5000, min_interval_s 0..86400, hold_s 10..86400")
    db.begin()
    db.execute(
        "INSERT INTO actuators (id, gw, name, lat, lon, radius_m, on_wbgt, off_wbgt, "
        "min_interval_s, hold_s, auto, state, state_at, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET gw=excluded.gw, "
        "name=excluded.name, lat=excluded.lat, lon=excluded.lon, radius_m=excluded.radius_m, "
        "on_wbgt=excluded.on_wbgt, off_wbgt=excluded.off_wbgt, "
        "min_interval_s=excluded.min_interval_s, hold_s=excluded.hold_s, auto=excluded.auto",
        (id, gw, name, lat, lon, radius_m, on_wbgt, off, min_interval_s, hold_s, int(auto),
         "unknown", None, now))
    db.commit()
    return get(db, id)  # type: ignore[return-value]


def _row(r: Any) -> Actuator:
    return Actuator(r["id"], r["gw"], r["name"], r["lat"], r["lon"], r["radius_m"],
                    r["on_wbgt"], r["off_wbgt"], r["min_interval_s"], r["hold_s"],
                    bool(r["auto"]), r["state"], r["state_at"])


def get(db: Database, aid: str) -> Actuator | None:
    r = db.execute("SELECT * FROM actuators WHERE id = ?", (aid,)).fetchone()
    return _row(r) if r else None


def all_actuators(db: Database) -> list[Actuator]:
    return [_row(r) for r in db.execute("SELECT * FROM actuators ORDER BY id").fetchall()]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular: exact enough within a town (error far below a spot's radius)."""
    k = math.pi / 180
    x = (lon2 - lon1) * k * math.cos((lat1 + lat2) / 2 * k)
    return 6_371_000.0 * math.hypot(x, (lat2 - lat1) * k)


def live_wbgt(db: Database, now: float) -> list[tuple[float, float, float]]:
    """(lat, lon, WBGT window mean) of every heat sensor with a live window: read once per
    controller step, whatever the number of spots."""
    rows = db.execute("SELECT lat, lon, latest FROM devices WHERE kind = 'heat' AND lat IS NOT "
                      "NULL AND latest_end >= ?", (now - STALE_S,)).fetchall()
    out = []
    for r in rows:
        w = orjson.loads(r["latest"]).get("wbgt_c", {}).get("mean")
        if isinstance(w, (int, float)):
            out.append((r["lat"], r["lon"], float(w)))
    return out


def wbgt_near(db: Database, a: Actuator, now: float,
              live: list[tuple[float, float, float]] | None = None) -> float | None:
    """The highest live WBGT (window mean) among heat sensors within the spot's radius."""
    near = [w for lat, lon, w in (live_wbgt(db, now) if live is None else live)
            if distance_m(a.lat, a.lon, lat, lon) <= a.radius_m]
    return max(near) if near else None


def effective_state(a: Actuator, now: float) -> str:
    """The device switches off by itself after hold_s: an old "on" is an "off" by now."""
    if a.state == "on" and a.state_at is not None and now - a.state_at >= a.hold_s:
        return "off"
    return a.state


def decide(a: Actuator, wbgt: float | None, open_command: bool, last_command_at: float | None,
           now: float) -> tuple[str, str] | None:
    """(action, why) to send now, or None. Hysteresis: on at >= on_wbgt, off below off_wbgt;
    no live reading switches off; never while a command is unanswered, never faster than
    min_interval_s after the last command (answered, refused or failed)."""
    if not a.auto or open_command:
        return None
    if last_command_at is not None and now - last_command_at < a.min_interval_s:
        return None
    state = effective_state(a, now)
    if wbgt is None:
        return ("off", "no live WBGT near the spot") if state == "on" else None
    if wbgt >= a.on_wbgt and state != "on":
        return "on", f"WBGT {wbgt:.1f} >= {a.on_wbgt:.1f}"
    if wbgt < a.off_wbgt and state != "off":
        return "off", f"WBGT {wbgt:.1f} < {a.off_wbgt:.1f}"
    return None


def new_command_id() -> str:
    return secrets.token_hex(10)  # 20 of the 24 characters the line allows; never reused


def queue_command(db: Database, a: Actuator, action: str, source: str, why: str,
                  wbgt: float | None, now: float, hold_s: int | None = None) -> str:
    if action not in ac.ACTIONS:
        raise ActuatorError("action must be on or off")
    hold = a.hold_s if hold_s is None else hold_s
    if not 10 <= hold <= 86400:
        raise ActuatorError("hold_s must be 10..86400")
    cid = new_command_id()
    db.begin()
    db.execute("INSERT INTO actuator_commands (id, actuator, gw, action, hold_s, source, why, "
               "wbgt, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
               (cid, a.id, a.gw, action, hold, source[:80], why[:200], wbgt, now))
    db.commit()
    return cid


def open_commands(db: Database, aid: str) -> tuple[bool, float | None]:
    r = db.execute("SELECT count(CASE WHEN result IS NULL THEN 1 END), max(created_at) "
                   "FROM actuator_commands WHERE actuator = ?", (aid,)).fetchone()
    return bool(r[0]), r[1]


def record_ack(db: Database, p: dict[str, Any], now: float) -> bool:
    """Store a validated ack; the relay state follows the device's own "on". False when the
    id is unknown (or answered already: a redelivered ack changes nothing)."""
    db.begin()
    try:
        cur = db.execute("UPDATE actuator_commands SET result = ?, refusal = ?, ack_on = ?, "
                         "acked_at = ? WHERE id = ? AND gw = ? AND actuator = ? AND "
                         "(result IS NULL OR result = 'failed' AND refusal = 'no_ack')",
                         (p["result"], p.get("reason"), None if "on" not in p else int(p["on"]),
                          now, p["id"], p["gw"], p["device"]))
        if cur.rowcount == 0:
            db.rollback()
            return False
        if "on" in p:
            db.execute("UPDATE actuators SET state = ?, state_at = ? WHERE id = ?",
                       ("on" if p["on"] else "off", now, p["device"]))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return True


def record_state(db: Database, p: dict[str, Any], now: float) -> bool:
    """The device's own state line (validated): the truth about the relay, including the
    switch-offs it made by itself (override, humidity, max on-time). False for a device that is
    not registered on that gateway, or for a report older than what is known (a retained
    message redelivered after a newer ack)."""
    on_since = p["ts"] - p.get("on_s", 0) if p["on"] else p["ts"]
    cur = db.execute("UPDATE actuators SET state = ?, state_at = ?, override = ?, device_rh = ? "
                     "WHERE id = ? AND gw = ? AND (state_at IS NULL OR state_at <= ?)",
                     ("on" if p["on"] else "off", on_since, int(p["override"]), p.get("rh"),
                      p["device"], p["gw"], p["ts"]))
    return bool(cur.rowcount)


def fail_unanswered(db: Database, now: float) -> int:
    db.begin()
    cur = db.execute("UPDATE actuator_commands SET result = 'failed', refusal = 'no_ack', "
                     "acked_at = ? WHERE result IS NULL AND sent_at IS NOT NULL AND sent_at < ?",
                     (now, now - ANSWER_S))
    db.commit()
    return int(cur.rowcount)


def command_log(db: Database, aid: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    where, args = ("WHERE actuator = ?", [aid]) if aid else ("", [])
    rows = db.execute("SELECT id, actuator, gw, action, hold_s, source, why, wbgt, created_at, "
                      "sent_at, result, refusal, ack_on, acked_at FROM actuator_commands "
                      f"{where} ORDER BY created_at DESC, id LIMIT ?", [*args, limit]).fetchall()
    out = []
    for r in rows:
        d = dict(zip(r.keys(), r, strict=True))
        d["ack_on"] = None if d["ack_on"] is None else bool(d["ack_on"])
        out.append(d)
    return out
