"""Disk-backed outbox: every event and summary waits here until the broker has acknowledged it.

The outbox owns the gateway's stream identity: a random epoch made when the outbox file is
created, and sequence numbers assigned in the same transaction that stores each message, so an
id (<gw>:<epoch>:<seq>) is never reused, even across crashes, and a gateway whose data dir is
lost starts a new stream instead of repeating old ids. A row is deleted only after PUBACK, or
when the bound evicts it: past `max_bytes` the oldest summaries go first, then the oldest
events; SOS and fall events are never evicted. Summaries older than `max_age_s` go too.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from machimori.contract import mqtt as contract

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stream (epoch TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL,
    cls INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 1);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS messages_cls_seq ON messages (cls, seq);
CREATE INDEX IF NOT EXISTS messages_cls_created ON messages (cls, created);
"""

# Eviction classes, in the order the bound evicts them.
SUMMARY, EVENT, PROTECTED = 0, 1, 2
_COUNTERS = ("bytes", "evicted_summaries", "evicted_events")

Maker = Callable[[int], tuple[str, bytes]]  # seq -> (topic, payload)


def message_class(topic: str) -> int:
    """SUMMARY, EVENT or PROTECTED (an event kind in contract.NEVER_EVICTED) for a topic."""
    try:
        info = contract.parse_topic(topic)
    except contract.ContractError:
        return SUMMARY
    if info.message != "event":
        return SUMMARY
    return PROTECTED if info.kind in contract.NEVER_EVICTED else EVENT


@dataclass(frozen=True)
class OutboxLimits:
    max_bytes: int = 256 * 1024 * 1024  # payload bytes kept while the uplink is down
    max_age_s: float = 14 * 86400.0  # summaries older than this are dropped


class Outbox:
    def __init__(self, path: str | Path, limits: OutboxLimits | None = None):
        self.path = Path(path)
        self.limits = limits or OutboxLimits()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged append survives power loss too (gateways lose power).
        self._db.execute("PRAGMA synchronous=FULL")
        self.epoch = self._open()

    def _open(self) -> str:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            cols = {r[1] for r in db.execute("PRAGMA table_info(messages)")}
            if "cls" not in cols:  # an outbox written before the bound existed
                db.execute("ALTER TABLE messages ADD COLUMN cls INTEGER NOT NULL DEFAULT 0")
                rows = db.execute("SELECT seq, topic FROM messages").fetchall()
                db.executemany("UPDATE messages SET cls = ? WHERE seq = ?",
                               [(message_class(t), s) for s, t in rows])
            for stmt in _INDEXES.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            if db.execute("SELECT 1 FROM meta WHERE key = 'bytes'").fetchone() is None:
                (total,) = db.execute("SELECT coalesce(sum(length(payload)), 0) FROM messages"
                                      ).fetchone()
                db.execute("INSERT INTO meta VALUES ('bytes', ?)", (total,))
            db.executemany("INSERT OR IGNORE INTO meta VALUES (?, 0)",
                           [(k,) for k in _COUNTERS])
            row = db.execute("SELECT epoch FROM stream").fetchone()
            if row is None:
                # Made in the transaction that creates (or upgrades) the outbox: an outbox
                # never exists without its epoch, and the epoch never changes after.
                epoch = contract.new_epoch()
                db.execute("INSERT INTO stream VALUES (?)", (epoch,))
            else:
                epoch = row[0]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back itself (disk full)
                db.execute("ROLLBACK")
            raise
        if not contract.EPOCH_RE.match(epoch):
            raise ValueError(f"{self.path}: stream epoch {epoch!r} is damaged")
        return epoch

    def append_many(self, makers: Iterable[Maker], now: float) -> list[int]:
        """Assign consecutive sequence numbers, store every message atomically, keep the bound.

        When the disk is full before the bound is reached, the oldest summaries (then events,
        never SOS or falls) make room, counted like any eviction, and the append is retried.
        """
        makers = list(makers)
        if not makers:
            return []
        with self._lock:
            try:
                return self._append(makers, now)
            except sqlite3.OperationalError as exc:
                if "full" not in str(exc):
                    raise
                need = sum(len(make(0)[1]) for make in makers)
                if not self._make_room(2 * need + 65536):
                    raise  # nothing left that may be evicted: SOS and falls only
                return self._append(makers, now)

    def _append(self, makers: list[Maker], now: float) -> list[int]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            (seq,) = db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
            rows = []
            for i, make in enumerate(makers):
                topic, payload = make(seq + i)
                rows.append((seq + i, topic, payload, now, message_class(topic)))
            db.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (seq + len(rows),))
            self._add("bytes", sum(len(r[2]) for r in rows))
            self._enforce(now)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back itself (disk full)
                db.execute("ROLLBACK")
            raise
        return [r[0] for r in rows]

    def _make_room(self, nbytes: int) -> bool:
        """Evict at least `nbytes` of payload (summaries first); False if nothing could go."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = self._get("bytes")
            self._evict_over(before - nbytes)
            freed = before - self._get("bytes")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back itself (disk full)
                db.execute("ROLLBACK")
            raise
        return freed > 0

    def _add(self, key: str, n: int) -> None:
        if n:
            self._db.execute("UPDATE meta SET value = value + ? WHERE key = ?", (n, key))

    def _get(self, key: str) -> int:
        return self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def _enforce(self, now: float) -> None:
        """Evict (inside the caller's transaction) until the bound holds again."""
        db, lim = self._db, self.limits
        old = db.execute("DELETE FROM messages WHERE cls = ? AND created < ? "
                         "RETURNING length(payload)", (SUMMARY, now - lim.max_age_s)).fetchall()
        if old:
            self._add("bytes", -sum(r[0] for r in old))
            self._add("evicted_summaries", len(old))
        self._evict_over(lim.max_bytes)

    def _evict_over(self, limit: int) -> None:
        """Evict the oldest summaries, then the oldest ordinary events, until the payload bytes
        are at most `limit` or nothing evictable is left."""
        db = self._db
        excess = self._get("bytes") - limit
        for cls, counter in ((SUMMARY, "evicted_summaries"), (EVENT, "evicted_events")):
            while excess > 0:
                rows = db.execute("SELECT seq, length(payload) FROM messages WHERE cls = ? "
                                  "ORDER BY seq LIMIT 256", (cls,)).fetchall()
                if not rows:
                    break
                gone = []
                for s, n in rows:
                    gone.append((s,))
                    excess -= n
                    if excess <= 0:
                        break
                db.executemany("DELETE FROM messages WHERE seq = ?", gone)
                self._add("bytes", -sum(n for _, n in rows[:len(gone)]))
                self._add(counter, len(gone))
        # What is left over the bound is SOS and falls alone: kept whatever it costs.

    def peek(self, after_seq: int, limit: int) -> list[tuple[int, str, bytes]]:
        with self._lock:
            return self._db.execute(
                "SELECT seq, topic, payload FROM messages WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit)).fetchall()

    def ack(self, seqs: Iterable[int]) -> None:
        rows = [(s,) for s in seqs]
        if rows:
            with self._lock:
                # One transaction (one fsync) per batch of acknowledgements, not per message.
                db = self._db
                db.execute("BEGIN IMMEDIATE")
                try:
                    freed = 0
                    for row in rows:  # a row the bound evicted while in flight frees nothing
                        got = db.execute("DELETE FROM messages WHERE seq = ? "
                                         "RETURNING length(payload)", row).fetchone()
                        freed += got[0] if got else 0
                    self._add("bytes", -freed)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:  # SQLite may have rolled back itself (disk full)
                        db.execute("ROLLBACK")
                    raise

    def depth(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM messages").fetchone()[0]

    def last_seq(self) -> int:
        """The highest sequence number ever assigned (0 if none)."""
        with self._lock:
            return self._get("next_seq") - 1

    def status(self, now: float) -> dict[str, Any]:
        """Depth, size, age of the oldest message and what the bound evicted (for the status)."""
        with self._lock:
            (depth,) = self._db.execute("SELECT count(*) FROM messages").fetchone()
            # The lowest seq is the oldest append (by rowid: no scan of a full outbox).
            first = self._db.execute("SELECT created FROM messages ORDER BY seq LIMIT 1"
                                     ).fetchone()
            oldest = first[0] if first else now
            return {"outbox_depth": depth, "outbox_bytes": self._get("bytes"),
                    "outbox_cap_bytes": self.limits.max_bytes,
                    "outbox_oldest_s": round(max(0.0, now - oldest), 3) if depth else 0.0,
                    "outbox_evicted": {"summaries": self._get("evicted_summaries"),
                                       "events": self._get("evicted_events")}}

    def close(self) -> None:
        with self._lock:
            self._db.close()
