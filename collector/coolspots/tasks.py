"""Operators' tasks: a row per spot, kind and day, created when the live WBGT near a spot reaches
its threshold (switch the mist on, check the shelter is open) or when a 特別警戒アラート covers
the town and a shelter's rule opens it. Idempotent: checking again never adds a second task for
the same spot, kind and day; done tasks stay done.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..db import Database
from .hours import JST
from .registry import special_alert

DEFAULT_TASK_WBGT = 28.0  # 厳重警戒 (severe warning) and above
NEAR_M = 300.0  # sensors within this distance speak for a spot
FRESH_S = 1800.0  # a sensor's newest window must be this recent


@dataclass(frozen=True)
class Town:
    pref_code: str | None = None
    area_code: str | None = None
    forecast_point: str | None = None
    task_wbgt: float = DEFAULT_TASK_WBGT


def town_settings(db: Database) -> Town:
    r = db.execute("SELECT pref_code, area_code, forecast_point, task_wbgt FROM heat_town "
                   "WHERE id = 1").fetchone()
    return Town() if r is None else Town(r[0], r[1], r[2], float(r[3]))


def set_town(db: Database, town: Town, now: float | None = None) -> None:
    db.execute("INSERT INTO heat_town (id, pref_code, area_code, forecast_point, task_wbgt, "
               "updated_at) VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
               "pref_code = excluded.pref_code, area_code = excluded.area_code, "
               "forecast_point = excluded.forecast_point, task_wbgt = excluded.task_wbgt, "
               "updated_at = excluded.updated_at",
               (town.pref_code, town.area_code, town.forecast_point, town.task_wbgt,
                time.time() if now is None else now))


def live_wbgt(db: Database, now: float) -> list[tuple[float, float, float]]:
    """(lat, lon, WBGT) of every heat sensor whose newest window ended within FRESH_S of now."""
    out = []
    for r in db.execute("SELECT lat, lon, latest FROM devices WHERE kind = 'heat' AND "
                        "lat IS NOT NULL AND latest_end >= ? AND latest_end <= ?",
                        (now - FRESH_S, now + FRESH_S)).fetchall():
        v = json.loads(r["latest"]).get("wbgt_c", {}).get("mean")
        if isinstance(v, int | float) and math.isfinite(v):
            out.append((float(r["lat"]), float(r["lon"]), float(v)))
    return out


def wbgt_near(readings: list[tuple[float, float, float]], lat: float,
              lon: float) -> float | None:
    """Inverse-distance mean of the readings within NEAR_M (None if none)."""
    k = math.cos(math.radians(lat))
    num = den = 0.0
    for la, lo, v in readings:
        d = math.hypot((la - lat) * 111_195.0, (lo - lon) * 111_195.0 * k)
        if d <= NEAR_M:
            w = 1.0 / max(d, 10.0) ** 2
            num, den = num + w * v, den + w
    return num / den if den else None


def check(db: Database, now: float | None = None) -> int:
    """Create the tasks due now; return how many are new."""
    now = time.time() if now is None else now
    town = town_settings(db)
    day = datetime.fromtimestamp(now, JST).strftime("%Y-%m-%d")
    readings = live_wbgt(db, now)
    alert = special_alert(db, now, town.pref_code, town.area_code)
    new: list[tuple[Any, ...]] = []
    for s in db.execute("SELECT id, name, lat, lon, alert_rule, wbgt_threshold "
                        "FROM coolspots").fetchall():
        if alert["level"] == "special" and s["alert_rule"] in ("alert_open", "alert_only"):
            new.append((s["id"], "special_alert", day,
                        f"特別警戒アラート: open {s['name']} for the day", None, None, now))
        if s["lat"] is None:
            continue
        thr = s["wbgt_threshold"] if s["wbgt_threshold"] is not None else town.task_wbgt
        w = wbgt_near(readings, s["lat"], s["lon"])
        if w is not None and w >= thr:
            new.append((s["id"], "wbgt", day,
                        (f"WBGT {w:.1f} °C near {s['name']} (threshold {thr:g}): switch on mist "
                        "and fans, check it is open"), round(w, 2), thr, now))
    if not new:
        return 0
    db.begin()
    try:
        before = db.execute("SELECT count(*) FROM coolspot_tasks").fetchone()[0]
        db.executemany("INSERT INTO coolspot_tasks (spot, kind, day, message, wbgt, threshold, "
                       "created_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (spot, kind, day) "
                       "DO NOTHING", new)
        after = db.execute("SELECT count(*) FROM coolspot_tasks").fetchone()[0]
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return int(after - before)


def task_json(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "spot": r["spot"], "name": r["name"], "kind": r["kind"],
            "day": r["day"], "message": r["message"], "wbgt": r["wbgt"],
            "threshold": r["threshold"], "created_at": r["created_at"], "done_at": r["done_at"],
            "done_by": r["done_by"]}


def list_tasks(db: Database, open_only: bool = True, limit: int = 200) -> list[Any]:
    return db.execute(
        "SELECT t.*, c.name AS name FROM coolspot_tasks t LEFT JOIN coolspots c ON c.id = t.spot"
        + (" WHERE t.done_at IS NULL" if open_only else "")
        + " ORDER BY t.created_at DESC, t.id DESC LIMIT ?", (limit,)).fetchall()


def mark_done(db: Database, task_id: int, who: str, now: float | None = None) -> bool:
    cur = db.execute("UPDATE coolspot_tasks SET done_at = ?, done_by = ? WHERE id = ? AND "
                     "done_at IS NULL", (time.time() if now is None else now, who[:64], task_id))
    return bool(getattr(cur, "rowcount", 0))
