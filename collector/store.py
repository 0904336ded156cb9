"""The collector's store: named, ordered migrations and the one writer for ingest.

SQLite in WAL mode (one writer: the ingest worker; any number of readers: the web app), or
PostgreSQL for several collectors (collector/db.py hides the differences).
Ingest is idempotent: a summary or event id that is already stored is counted and skipped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from machimori.contract.mqtt import ContractError, decode_message

from .db import Database


def migrations(dialect: str = "sqlite") -> list[tuple[str, str]]:
    """(name, sql) for every migration of a dialect, in order of their names."""
    root = resources.files("collector").joinpath("migrations", dialect)
    files = sorted(p.name for p in root.iterdir() if p.name.endswith(".sql"))
    return [(name, root.joinpath(name).read_text(encoding="utf-8")) for name in files]


def connect(url: str | Path, readonly: bool = False) -> Database:
    """A database by URL: a file path for SQLite, postgresql://... for PostgreSQL."""
    return Database(url, readonly=readonly)


def migrate(db: Database) -> list[str]:
    """Apply the migrations not yet recorded; return their names."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
               "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
    done = {r[0] for r in db.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, sql in migrations(db.dialect):
        if name in done:
            continue
        db.begin(exclusive="machimori-migrate")
        try:
            if db.execute("SELECT 1 FROM schema_migrations WHERE name = ?",
                          (name,)).fetchone():
                db.rollback()  # another process applied it meanwhile
                continue
            for stmt in _statements(sql):
                db.execute(stmt)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, time.time()))
            db.commit()
        except BaseException:
            db.rollback()
            raise
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


SUMMARY_COLS = ("id", "gw", "seq", "kind", "device", "start", '"end"', "n", '"values"',
                "wbgt_level", "received_at", "wbgt_mean", "wbgt_max")
EVENT_COLS = ("id", "gw", "seq", "kind", "device", "ts", "priority", "data", "received_at")
INSERT_CHUNK = 400  # rows per statement: well under SQLite's and psycopg's parameter limits


def _wbgt_columns(values: dict[str, Any]) -> tuple[float | None, float | None]:
    """A window's WBGT mean and max, kept as columns for the area trend (migration 0020)."""
    w = values.get("wbgt_c")
    return (w["mean"], w["max"]) if w else (None, None)


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    dead: int = 0


class Store:
    """The single writer."""

    def __init__(self, path: str | Path, sinks: tuple[str, ...] = ()):
        self.sinks = tuple(sinks)  # names of external sinks fed through sink_queue
        self.url = str(path)
        self.db = connect(self.url)
        migrate(self.db)

    def close(self) -> None:
        self.db.close()

    def ingest(self, items: list[tuple[str, bytes]], now: float | None = None) -> IngestResult:
        """Store a batch of (topic, raw payload) in one transaction.

        Parsing and validation happen before the transaction, so the write lock is held only
        for the writes; a device's latest state is written once per batch, from its newest
        window in it.
        """
        now = time.time() if now is None else now
        res = IngestResult()
        good: list[tuple[str, dict[str, Any]]] = []
        dead: list[tuple[str, bytes, str, float]] = []
        for topic, raw in items:
            try:
                info, p = decode_message(topic, raw)
            except ContractError as exc:
                dead.append((topic, bytes(raw), str(exc), now))
                continue
            good.append((info.message, p))
        db = self.db
        latest: dict[str, tuple[dict[str, Any], str]] = {}
        db.begin()
        try:
            if dead:
                db.executemany("INSERT INTO dead_letters (topic, payload, reason, received_at) "
                               "VALUES (?, ?, ?, ?)", dead)
                res.dead += len(dead)
            summaries = [p for m, p in good if m == "summary"]
            events = [p for m, p in good if m == "event"]
            for m, p in good:
                if m == "status":
                    self._status(p, now)
                    res.stored += 1
            values = {p["id"]: orjson.dumps(p["values"]).decode() for p in summaries}
            new = self._insert_new("summaries", SUMMARY_COLS, [
                (p["id"], p["gw"], p["seq"], p["kind"], p["device"], p["start"], p["end"],
                 p["n"], values[p["id"]], p.get("wbgt_level"), now,
                 *_wbgt_columns(p["values"])) for p in summaries])
            fresh = [p for p in summaries if p["id"] in new]
            fresh = list({p["id"]: p for p in fresh}.values())  # a batch may hold one id twice
            if self.sinks and fresh:
                db.executemany("INSERT INTO sink_queue (sink, payload, queued_at) VALUES (?,?,?)",
                               [(name, orjson.dumps(p).decode(), now)
                                for p in fresh for name in self.sinks])
            for p in fresh:
                cur = latest.get(p["device"])
                if cur is None or p["end"] >= cur[0]["end"]:
                    latest[p["device"]] = (p, values[p["id"]])
            new_events = self._insert_new("events", EVENT_COLS, [
                (p["id"], p["gw"], p["seq"], p["kind"], p["device"], p["ts"], p["priority"],
                 orjson.dumps(p.get("data", {})).decode(), now) for p in events])
            res.stored += len(fresh) + len(new_events)
            res.duplicates += len(summaries) + len(events) - len(fresh) - len(new_events)
            self._devices(list(latest.values()), now)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return res

    def _insert_new(self, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]
                    ) -> set[str]:
        """Insert the rows whose id is new (multi-row statements); return the ids inserted.

        One statement per chunk, not one per row: against PostgreSQL each statement is a round
        trip, and the ids that come back tell new from redelivered.
        """
        new: set[str] = set()
        one = "(" + ",".join("?" * len(cols)) + ")"
        head = f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
        for i in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[i:i + INSERT_CHUNK]
            sql = head + ",".join([one] * len(chunk)) + " ON CONFLICT (id) DO NOTHING RETURNING id"
            new.update(r[0] for r in self.db.execute(sql, [v for row in chunk for v in row]
                                                     ).fetchall())
        return new

    def _devices(self, latest: list[tuple[dict[str, Any], str]], now: float) -> None:
        """Upsert each device's newest state, in one statement per chunk."""
        rows = []
        for p, values in latest:
            place = p.get("place") or {}
            rows.append((p["device"], p["kind"], p["gw"], place.get("lat"), place.get("lon"),
                         place.get("name"), place.get("height_m"), p["end"], values,
                         p.get("wbgt_level"), now,
                         orjson.dumps(p["state"]).decode() if "state" in p else None))
        one = "(" + ",".join("?" * 12) + ")"
        for i in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[i:i + INSERT_CHUNK]
            # The latest state only moves forward in time: late redeliveries do not roll it
            # back (the WHERE on the update).
            self.db.execute(
                "INSERT INTO devices (id, kind, gw, lat, lon, name, height_m, latest_end, "
                "latest, wbgt_level, updated_at, state) VALUES " + ",".join([one] * len(chunk))
                + " ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, gw=excluded.gw, "
                "lat=coalesce(excluded.lat, devices.lat), lon=coalesce(excluded.lon, devices.lon), "
                "name=coalesce(excluded.name, devices.name), "
                "height_m=coalesce(excluded.height_m, devices.height_m), "
                "latest_end=excluded.latest_end, latest=excluded.latest, "
                "wbgt_level=excluded.wbgt_level, updated_at=excluded.updated_at, "
                "state=excluded.state WHERE excluded.latest_end >= devices.latest_end",
                [v for row in chunk for v in row])

    # ---- the sink queue (read by sink workers, e.g. collector/influx.py)
    def sink_batch(self, sink: str, limit: int, after_id: int = 0
                   ) -> list[tuple[int, dict[str, Any]]]:
        """The oldest queued summaries for `sink` after queue id `after_id`: (id, payload)."""
        rows = self.db.execute("SELECT id, payload FROM sink_queue WHERE sink = ? AND id > ? "
                               "ORDER BY id LIMIT ?", (sink, after_id, limit)).fetchall()
        return [(r[0], json.loads(r[1])) for r in rows]

    def sink_done(self, ids: list[int]) -> None:
        """The sink has accepted these: remove them from the queue."""
        if ids:
            self.db.begin()
            self.db.executemany("DELETE FROM sink_queue WHERE id = ?", [(i,) for i in ids])
            self.db.commit()

    def sink_depth(self, sink: str) -> int:
        return self.db.execute("SELECT count(*) FROM sink_queue WHERE sink = ?",
                               (sink,)).fetchone()[0]

    def _status(self, p: dict[str, Any], now: float) -> None:
        self.db.execute(
            "INSERT INTO gateways (id, state, ts, version, outbox_depth, devices, updated_at) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET state=excluded.state, "
            "ts=excluded.ts, version=coalesce(excluded.version, gateways.version), "
            "outbox_depth=coalesce(excluded.outbox_depth, gateways.outbox_depth), "
            "devices=coalesce(excluded.devices, gateways.devices), "
            "updated_at=excluded.updated_at "
            "WHERE excluded.ts IS NULL OR gateways.ts IS NULL OR excluded.ts >= gateways.ts",
            (p["gw"], p["state"], p.get("ts"), p.get("version"), p.get("outbox_depth"),
             p.get("devices"), now))
