"""Disk-backed outbox: every event and summary waits here until the broker has acknowledged it.

Sequence numbers are assigned here, in the same transaction that stores the message, so an
event id (<gw>:<seq>) is never reused even across crashes. A row is deleted only after PUBACK.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 1);
"""

Maker = Callable[[int], tuple[str, bytes]]  # seq -> (topic, payload)


class Outbox:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged append survives power loss too (gateways lose power).
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def append_many(self, makers: Iterable[Maker], now: float) -> list[int]:
        """Assign consecutive sequence numbers and store every message atomically."""
        makers = list(makers)
        if not makers:
            return []
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                (seq,) = db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()
                rows = []
                for i, make in enumerate(makers):
                    topic, payload = make(seq + i)
                    rows.append((seq + i, topic, payload, now))
                db.executemany("INSERT INTO messages VALUES (?, ?, ?, ?)", rows)
                db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (seq + len(rows),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return [r[0] for r in rows]

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
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("DELETE FROM messages WHERE seq = ?", rows)
                self._db.execute("COMMIT")

    def depth(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM messages").fetchone()[0]

    def last_seq(self) -> int:
        """The highest sequence number ever assigned (0 if none)."""
        with self._lock:
            return self._db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0] - 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
