"""One database interface over SQLite (the default) and PostgreSQL (at scale).

The store and the web app write their SQL once, with `?` placeholders and the SQL both engines
share (ON CONFLICT upserts, standard types); the few differences live here: placeholders,
transactions, JSON access and the migration folder.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self


def is_postgres(url: str | Path) -> bool:
    return str(url).startswith(("postgresql://", "postgres://"))


class Row(tuple):
    """A result row readable by position and by column name (like sqlite3.Row)."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Self:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _pg_row_factory(cursor: Any) -> Any:
    desc = cursor.description
    index = {d.name: i for i, d in enumerate(desc)} if desc else {}
    return lambda values: Row(values, index)


class Database:
    _con: Any  # sqlite3.Connection or psycopg.Connection: the same few methods are used

    def __init__(self, url: str | Path, readonly: bool = False):
        self.url = str(url)
        if is_postgres(self.url):
            import psycopg

            self.dialect = "postgresql"
            self._con = psycopg.connect(self.url, autocommit=True, row_factory=_pg_row_factory)
        else:
            self.dialect = "sqlite"
            path = Path(self.url)
            if readonly:
                con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                                      isolation_level=None)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA busy_timeout=5000")
            con.row_factory = sqlite3.Row
            self._con = con

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._con.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> None:
        seq = [tuple(p) for p in seq]
        if not seq:
            return
        if self.dialect == "postgresql":
            with self._con.cursor() as cur:
                cur.executemany(self._sql(sql), seq)
        else:
            self._con.executemany(sql, seq)

    def begin(self, exclusive: str | None = None) -> None:
        """Start a transaction. SQLite takes the write lock at once (writers queue instead of
        deadlocking, and a read inside sees what the previous writer committed). On PostgreSQL,
        `exclusive` names a job (migrations, retention) that must not run twice at a time:
        a transaction-scoped advisory lock makes the second wait for the first."""
        if self.dialect == "sqlite":
            self._con.execute("BEGIN IMMEDIATE")
            return
        self._con.execute("BEGIN")
        if exclusive:
            self._con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (exclusive,))

    def commit(self) -> None:
        self._con.execute("COMMIT")

    def rollback(self) -> None:
        self._con.execute("ROLLBACK")

    def close(self) -> None:
        self._con.close()

    def json_number(self, column: str, *path: str) -> str:
        """SQL for a number inside a JSON text column, e.g. values -> wbgt_c -> mean."""
        if self.dialect == "postgresql":
            return f"(({column})::jsonb #>> '{{{','.join(path)}}}')::double precision"
        return f"json_extract({column}, '$.{'.'.join(path)}')"

