"""Retention: raw summary windows older than a cut-off become hourly rows, then go.

Planners keep years of hourly history at a sixtieth of the rows; the raw minute windows stay
for `keep_days`. Each hour is merged with what an earlier run already wrote for it, so running
the job often, or twice, changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from .db import Database

CHUNK = 5000  # raw rows per transaction: bounded memory and short write locks


@dataclass
class RetentionResult:
    summaries_removed: int = 0
    hours_written: int = 0


def _merge(acc: dict[str, dict[str, float]], wn: dict[str, float], values: dict[str, Any],
           n: int, end: float, last_end: dict[str, float]) -> None:
    for q, st in values.items():
        a = acc.get(q)
        if a is None:
            acc[q] = {"mean": st["mean"] * n, "min": st["min"], "max": st["max"],
                      "last": st["last"]}
            wn[q] = n
            last_end[q] = end
            continue
        a["mean"] += st["mean"] * n
        wn[q] += n
        a["min"] = min(a["min"], st["min"])
        a["max"] = max(a["max"], st["max"])
        if end >= last_end[q]:
            a["last"], last_end[q] = st["last"], end


def downsample(db: Database, cutoff: float) -> RetentionResult:
    """Fold summaries whose window ended before `cutoff` into hourly rows and delete them."""
    res = RetentionResult()
    while True:
        # Read the chunk inside the transaction that deletes it: two retention runs at once
        # (cron and --retention-days) must not both fold the same windows.
        db.begin(exclusive="machimori-retention")
        try:
            rows = db.execute('SELECT id, device, kind, gw, start, "end", n, "values" '
                              'FROM summaries WHERE "end" < ? ORDER BY "end", id LIMIT ?',
                              (cutoff, CHUNK)).fetchall()
            if not rows:
                db.commit()
                return res
            groups: dict[tuple[str, float], dict[str, Any]] = {}
            for r in rows:
                # by the window's start: 09:59–10:00 belongs to 9–10
                hour = math.floor(r["start"] / 3600) * 3600
                g = groups.setdefault((r["device"], hour), {
                    "kind": r["kind"], "gw": r["gw"], "windows": 0, "n": 0, "acc": {}, "wn": {},
                    "last_end": {}, "end": 0.0})
                g["windows"] += 1
                g["n"] += r["n"]
                g["end"] = max(g["end"], r["end"])
                _merge(g["acc"], g["wn"], orjson.loads(r["values"]), r["n"], r["end"],
                       g["last_end"])
            for (device, hour), g in groups.items():
                old = db.execute('SELECT windows, n, "values", last_end FROM summaries_hourly '
                                 "WHERE device = ? AND hour = ?", (device, hour)).fetchone()
                acc, wn = g["acc"], g["wn"]
                if old is not None:  # an earlier run wrote part of this hour: merge into it
                    _merge(acc, wn, orjson.loads(old["values"]), max(1, old["n"]),
                           old["last_end"], g["last_end"])
                    g["windows"] += old["windows"]
                    g["n"] += old["n"]
                    g["end"] = max(g["end"], old["last_end"])
                values = {q: {"mean": round(a["mean"] / max(wn[q], 1), 3), "min": a["min"],
                              "max": a["max"], "last": a["last"]} for q, a in acc.items()}
                db.execute(
                    'INSERT INTO summaries_hourly (device, hour, kind, gw, windows, n, "values", '
                    "last_end) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (device, hour) DO UPDATE "
                    "SET windows=excluded.windows, n=excluded.n, \"values\"=excluded.\"values\", "
                    "last_end=excluded.last_end",
                    (device, hour, g["kind"], g["gw"], g["windows"], g["n"],
                     orjson.dumps(values).decode(), g["end"]))
            db.executemany("DELETE FROM summaries WHERE id = ?", [(r["id"],) for r in rows])
            db.commit()
        except BaseException:
            db.rollback()
            raise
        res.summaries_removed += len(rows)
        res.hours_written += len(groups)


def expire_events(db: Database, cutoff: float) -> int:
    db.begin()
    n = db.execute("SELECT count(*) FROM events WHERE ts < ?", (cutoff,)).fetchone()[0]
    db.execute("DELETE FROM events WHERE ts < ?", (cutoff,))
    db.commit()
    return n


def expire_by_sensitivity(db: Database, now: float) -> dict[str, int]:
    """Delete raw windows, hourly rows and events older than their class allows
    (machimori/contract/sensitivity.py); returns rows deleted per table."""
    from machimori.contract.sensitivity import (
        Sensitivity,
        event_class,
        keep_days,
        summary_class,
    )

    out = {"summaries": 0, "summaries_hourly": 0, "events": 0}
    db.begin(exclusive="machimori-retention")
    try:
        for table, col, cls_of in (("summaries", '"end"', summary_class),
                                   ("summaries_hourly", "last_end", summary_class),
                                   ("events", "ts", event_class)):
            kinds = [r[0] for r in db.execute(f"SELECT DISTINCT kind FROM {table}").fetchall()]
            for kind in kinds:
                days = keep_days(cls_of(kind))
                if days is None:
                    continue
                cut = now - days * 86400
                n = db.execute(f"SELECT count(*) FROM {table} WHERE kind = ? AND {col} < ?",
                               (kind, cut)).fetchone()[0]
                if n:
                    db.execute(f"DELETE FROM {table} WHERE kind = ? AND {col} < ?", (kind, cut))
                    out[table] += n
        # Resolved watch alerts are personal too: they go, with their log and notifications,
        # once resolved longer ago than the personal class keeps (the audit log stays).
        days = keep_days(Sensitivity.PERSONAL)
        if days is not None:
            cut = now - days * 86400
            old = [r[0] for r in db.execute("SELECT id FROM watch_alerts WHERE state = "
                                            "'resolved' AND resolved_at < ?", (cut,)).fetchall()]
            for table, col in (("watch_notifications", "alert"), ("watch_alert_log", "alert"),
                               ("watch_alerts", "id")):
                db.executemany(f"DELETE FROM {table} WHERE {col} = ?", [(i,) for i in old])
            out["watch_alerts"] = len(old)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return out
