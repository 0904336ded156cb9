"""The collector's store: named, ordered migrations and the one writer for ingest.

SQLite in WAL mode (one writer: the ingest worker; any number of readers: the web app), or
PostgreSQL for several collectors (collector/db.py hides the differences).
Ingest is idempotent: a summary or event id that is already stored with the same payload is
counted and skipped; the same id with a different payload goes to the dead letters with why.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from machimori.contract import counter, owntracks
from machimori.contract.mqtt import ContractError, decode_message
from machimori.contract.sensitivity import may_leave

from .counters import as_summary
from .db import Database
from .phones import record as record_phone


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
                "wbgt_level", "received_at", "digest", "wbgt_mean", "wbgt_max")
EVENT_COLS = ("id", "gw", "seq", "kind", "device", "ts", "priority", "data", "received_at",
              "digest")
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
    conflicts: int = 0  # of `dead`: a known id with a different payload
    ignored: int = 0  # gateways' selftest round trips


def digest(raw: bytes) -> str:
    """What tells a redelivery (same bytes: the gateway resends its outbox row) from a
    different message under a known id."""
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _first_of_each(payloads: list[dict[str, Any]], inserted: set[str]) -> list[dict[str, Any]]:
    """The payloads that were inserted: the first of each new id (the row the INSERT kept)."""
    if len(inserted) == len(payloads):
        return payloads  # the usual batch: every id new and none twice
    out, seen = [], set()
    for p in payloads:
        if p["id"] in inserted and p["id"] not in seen:
            seen.add(p["id"])
            out.append(p)
    return out


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
        phones: list[tuple[str, str, owntracks.Report]] = []
        raws: dict[int, tuple[str, bytes, str]] = {}  # id(payload) -> (topic, raw, digest)
        for topic, raw in items:
            if topic.startswith(owntracks.TOPIC_PREFIX + "/"):
                try:
                    user, device = owntracks.parse_topic(topic)
                    rep = owntracks.parse(raw)
                except owntracks.OwnTracksError as exc:
                    dead.append((topic, bytes(raw), f"owntracks: {exc}", now))
                    continue
                if rep is not None:
                    phones.append((user, device, rep))
                continue
            if topic.startswith(counter.PREFIX + "/"):
                try:
                    p = as_summary(counter.parse(topic, raw))
                except counter.CounterError as exc:
                    dead.append((topic, bytes(raw), str(exc), now))
                    continue
                raws[id(p)] = (topic, bytes(raw), digest(raw))
                good.append(("summary", p))
                continue
            try:
                info, p = decode_message(topic, raw)
            except ContractError as exc:
                dead.append((topic, bytes(raw), str(exc), now))
                continue
            if info.message == "selftest":
                res.ignored += 1
                continue
            if info.message != "status":
                raws[id(p)] = (topic, bytes(raw), digest(raw))
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
            values = {id(p): orjson.dumps(p["values"]).decode() for p in summaries}
            new = self._insert_new("summaries", SUMMARY_COLS, [
                (p["id"], p["gw"], p["seq"], p["kind"], p["device"], p["start"], p["end"],
                 p["n"], values[id(p)], p.get("wbgt_level"), now, raws[id(p)][2],
                 *_wbgt_columns(p["values"])) for p in summaries])
            fresh = _first_of_each(summaries, new)  # a batch may hold one id twice
            if self.sinks and fresh:
                db.executemany("INSERT INTO sink_queue (sink, payload, queued_at) VALUES (?,?,?)",
                               [(name, orjson.dumps(p).decode(), now)
                                for p in fresh for name in self.sinks
                                if may_leave(p["kind"], name)])
            for p in fresh:
                cur = latest.get(p["device"])
                if cur is None or p["end"] >= cur[0]["end"]:
                    latest[p["device"]] = (p, values[id(p)])
            new_events = self._insert_new("events", EVENT_COLS, [
                (p["id"], p["gw"], p["seq"], p["kind"], p["device"], p["ts"], p["priority"],
                 orjson.dumps(p.get("data", {})).decode(), now, raws[id(p)][2]) for p in events])
            conflicts: list[str] = []
            if len(new) + len(new_events) < len(summaries) + len(events):  # repeats to check
                fresh_ids = {id(p) for p in fresh + _first_of_each(events, new_events)}
                conflicts = self._conflicts(
                    [p for p in summaries if id(p) not in fresh_ids],
                    [p for p in events if id(p) not in fresh_ids], raws, now)
            res.stored += len(fresh) + len(new_events)
            res.conflicts += len(conflicts)
            res.dead += len(conflicts)
            res.duplicates += (len(summaries) + len(events) - len(fresh) - len(new_events)
                               - len(conflicts))
            self._devices(list(latest.values()), now)
            for user, device, rep in phones:
                if record_phone(db, user, device, rep, "mqtt", now).stored:
                    res.stored += 1
                else:
                    res.duplicates += 1
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return res

    def _conflicts(self, summaries: list[dict[str, Any]], events: list[dict[str, Any]],
                   raws: dict[int, tuple[str, bytes, str]], now: float) -> list[str]:
        """Of the ids already stored, those whose payload differs: kept as dead letters."""
        out: list[str] = []
        for table, repeats in (("summaries", summaries), ("events", events)):
            if not repeats:
                continue
            ids = sorted({p["id"] for p in repeats})
            stored: dict[str, str | None] = {}
            for i in range(0, len(ids), INSERT_CHUNK):
                chunk = ids[i:i + INSERT_CHUNK]
                stored.update(self.db.execute(
                    f"SELECT id, digest FROM {table} WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall())
            rows = []
            for p in repeats:
                topic, raw, d = raws[id(p)]
                known = stored.get(p["id"])
                if known is not None and known != d:  # NULL: stored before digests, unknown
                    why = (f"id {p['id']} is already stored with a different payload "
                           "(not a redelivery: a second stream under one id)")
                    rows.append((topic, raw, why, now))
                    out.append(p["id"])
            if rows:
                self.db.executemany("INSERT INTO dead_letters (topic, payload, reason, "
                                    "received_at) VALUES (?, ?, ?, ?)", rows)
        return out

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
        evicted = p.get("outbox_evicted") or {}
        cols = {"version": p.get("version"), "outbox_depth": p.get("outbox_depth"),
                "devices": p.get("devices"), "epoch": p.get("epoch"),
                "outbox_bytes": p.get("outbox_bytes"),
                "outbox_cap_bytes": p.get("outbox_cap_bytes"),
                "outbox_oldest_s": p.get("outbox_oldest_s"),
                "outbox_evicted_summaries": evicted.get("summaries"),
                "outbox_evicted_events": evicted.get("events"),
                "disk_free_bytes": p.get("disk_free_bytes")}
        # What a status leaves out (v1, or the Last Will) keeps its last known value.
        keep = ", ".join(f"{c}=coalesce(excluded.{c}, gateways.{c})" for c in cols)
        self.db.execute(
            f"INSERT INTO gateways (id, state, ts, updated_at, {', '.join(cols)}) "
            f"VALUES ({','.join('?' * (4 + len(cols)))}) ON CONFLICT(id) DO UPDATE SET "
            f"state=excluded.state, ts=excluded.ts, {keep}, updated_at=excluded.updated_at "
            "WHERE excluded.ts IS NULL OR gateways.ts IS NULL OR excluded.ts >= gateways.ts",
            (p["gw"], p["state"], p.get("ts"), now, *cols.values()))
