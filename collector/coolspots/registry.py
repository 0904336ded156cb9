"""The cool-spot registry in the collector's database: import (upsert, never duplicate) and
what is open at a moment (hours, and the town's 特別警戒アラート for shelters whose rule says so).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from ..db import Database
from .hours import JST, is_open
from .layout import ALERT_RULES, Spot

_SOURCE = re.compile(r"^[0-9A-Za-z_.\-]{1,40}$")


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int


def spot_id(source: str, section: str, source_id: str) -> str:
    return f"{source}-{section}-{source_id}" if section else f"{source}-{source_id}"


def import_spots(db: Database, spots: list[Spot], source: str | None, alert_rule: str = "hours",
                 wbgt_threshold: float | None = None, now: float | None = None) -> ImportResult:
    """Upsert every spot in one transaction, keyed by (source, section, the list's own ID):
    re-importing a list (or a newer version of it) updates rows, never duplicates them.
    `source` defaults to each row's municipality code."""
    if alert_rule not in ALERT_RULES:
        raise ValueError(f"alert rule must be one of {', '.join(ALERT_RULES)}")
    now = time.time() if now is None else now
    rows = []
    for s in spots:
        src = source or s.city_code
        if not src or not _SOURCE.match(src):
            raise ValueError(f"line {s.line}: no municipality code; give --source")
        rows.append((spot_id(src, s.section, s.source_id), src, s.section, s.source_id, s.kind,
                     s.name, s.address, s.lat, s.lon, s.capacity,
                     json.dumps(list(s.amenities), ensure_ascii=False),
                     json.dumps(s.hours), int(s.hours_known), s.note, s.url, s.phone,
                     alert_rule, wbgt_threshold, now))
    db.begin()
    try:
        existing = {r[0] for r in db.execute("SELECT id FROM coolspots").fetchall()}
        db.executemany(
            "INSERT INTO coolspots (id, source, section, source_id, kind, name, address, lat, "
            "lon, capacity, amenities, hours, hours_known, note, url, phone, alert_rule, "
            "wbgt_threshold, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, "
            "address = excluded.address, lat = excluded.lat, lon = excluded.lon, "
            "capacity = excluded.capacity, amenities = excluded.amenities, "
            "hours = excluded.hours, hours_known = excluded.hours_known, note = excluded.note, "
            "url = excluded.url, phone = excluded.phone, alert_rule = excluded.alert_rule, "
            "wbgt_threshold = excluded.wbgt_threshold, updated_at = excluded.updated_at", rows)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    added = sum(1 for r in rows if r[0] not in existing)
    return ImportResult(added, len(rows) - added)


def special_alert(db: Database, at: float, pref_code: str | None,
                  area_code: str | None = None) -> dict[str, Any]:
    """The MOE alert covering the town on `at`'s day (Japan time): level `special`
    (特別警戒アラート, flag 3), `warning` (警戒アラート, flag 1) or `none`."""
    from datetime import datetime

    day = datetime.fromtimestamp(at, JST).strftime("%Y-%m-%d")
    out: dict[str, Any] = {"date": day, "level": "none", "flag": None, "pref_code": pref_code,
                           "area_code": area_code, "report": None}
    if not pref_code:
        return out
    sql = "SELECT flag, report, area_code FROM heat_alerts WHERE pref_code = ? AND target_date = ?"
    args: list[Any] = [pref_code, day]
    rows = db.execute(sql, args).fetchall()
    flags = []
    for r in rows:
        # 特別警戒アラート covers the whole prefecture; 警戒アラート only its forecast area.
        if r["flag"] == 3 or area_code is None or r["area_code"] == area_code:
            flags.append((r["flag"], r["report"]))
    if not flags:
        return out
    flag, report = max(flags, key=lambda f: (f[0] == 3, f[0] == 1, f[0]))
    out.update(flag=flag, report=report,
               level="special" if flag == 3 else "warning" if flag == 1 else "none")
    return out


def spot_open(row: Any, at: float, alert_level: str) -> bool:
    hours = json.loads(row["hours"])
    rule = row["alert_rule"]
    if alert_level == "special" and rule == "alert_open":
        return True
    if rule == "alert_only" and alert_level != "special":
        return False
    return bool(row["hours_known"]) and is_open(hours, at)


def spot_json(row: Any, at: float, alert_level: str) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "kind": row["kind"], "lat": row["lat"],
            "lon": row["lon"], "capacity": row["capacity"],
            "amenities": json.loads(row["amenities"]), "hours": json.loads(row["hours"]),
            "hours_known": bool(row["hours_known"]), "address": row["address"],
            "note": row["note"], "url": row["url"], "alert_rule": row["alert_rule"],
            "open": spot_open(row, at, alert_level)}


def list_spots(db: Database) -> list[Any]:
    return db.execute("SELECT * FROM coolspots ORDER BY id").fetchall()
