"""Search over the catalogue in Japanese: substring search on normalised text (textnorm),
filters, facets and keyset pages (ordered by id, `next` the last id of the page).

SQLite: FTS5 with the trigram tokenizer answers queries of 3 characters and more; shorter
queries fall back to a second FTS5 table holding the same text one character a token (a phrase
query of one or two tokens), checked against the text with instr(); a short query made only of
punctuation scans the text with instr(). PostgreSQL: a GIN index over the characters and character pairs of each
document (textnorm.index_grams), then a substring check.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..db import Database
from . import model
from .textnorm import normalise, query_grams, spaced

MAX_LIMIT = 200
FACET_ROWS = 1000  # facets are counted over at most this many matches


class SearchError(ValueError):
    """A bad query parameter; the message names it."""


@dataclass(frozen=True)
class Query:
    q: str = ""
    category: str | None = None
    status: str | None = None
    area: str | None = None
    tag: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    limit: int = 50
    after: int = 0
    members: bool = False  # signed in: members-only resources too


def parse_query(args: dict[str, str], members: bool = False) -> Query:
    """A Query from request arguments, or SearchError naming the bad one."""
    q = args.get("q", "").strip()
    if len(q) > 100:
        raise SearchError("q: at most 100 characters")
    cat = args.get("category") or None
    if cat is not None and cat not in model.CATEGORIES:
        raise SearchError(f"category must be one of {', '.join(model.CATEGORIES)}")
    status = args.get("status") or None
    if status is not None and status not in model.STATUSES:
        raise SearchError(f"status must be one of {', '.join(model.STATUSES)}")
    raw_limit = args.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise SearchError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    cursor = args.get("cursor") or "0"
    if not cursor.isdigit() or len(cursor) > 18:
        raise SearchError("cursor is not one this API gave out")
    bbox = None
    if args.get("bbox"):
        try:
            x0, y0, x1, y1 = (float(v) for v in args["bbox"].split(","))
        except ValueError:
            raise SearchError("bbox must be minlon,minlat,maxlon,maxlat") from None
        if not (x0 <= x1 and y0 <= y1):
            raise SearchError("bbox: min must not exceed max")
        bbox = (x0, y0, x1, y1)
    return Query(q=q, category=cat, status=status, area=args.get("area") or None,
                 tag=args.get("tag") or None, bbox=bbox, limit=int(raw_limit),
                 after=int(cursor), members=members)


def _like(s: str) -> str:
    return "%" + s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _sql(db: Database, q: Query, with_cursor: bool) -> tuple[str, list[Any]]:
    """FROM ... WHERE ... for a query (the columns and order are the caller's)."""
    where = ["r.review = 'approved'"]
    args: list[Any] = []
    if not q.members:
        where.append("r.visibility = 'public'")
    for col, value in (("category", q.category), ("status", q.status), ("area", q.area)):
        if value is not None:
            where.append(f"r.{col} = ?")
            args.append(value)
    if q.tag:
        where.append("r.tags LIKE ? ESCAPE '\\'")
        args.append(_like("|" + q.tag + "|"))
    if q.bbox:
        where.append("r.lon BETWEEN ? AND ? AND r.lat BETWEEN ? AND ?")
        args.extend((q.bbox[0], q.bbox[2], q.bbox[1], q.bbox[3]))
    text = normalise(q.q)
    if not text:
        frm, key = "resources r", "r.id"
    elif db.dialect == "sqlite":
        frm, key = "resources_fts f JOIN resources r ON r.id = f.rowid", "f.rowid"
        if len(text) >= 3:
            where.insert(0, "resources_fts MATCH ?")
            args.insert(0, '"' + text.replace('"', '""') + '"')
        elif spaced(text):
            frm = ("resources_fts1 u JOIN resources_fts f ON f.rowid = u.rowid "
                   "JOIN resources r ON r.id = u.rowid")
            key = "u.rowid"
            # instr, not LIKE: FTS5 would take a LIKE on its column itself, and its trigram
            # index matches nothing for a pattern shorter than 3 characters.
            where[:0] = ["resources_fts1 MATCH ?", "instr(f.doc, ?) > 0"]
            args[:0] = ['"' + spaced(text) + '"', text]
        else:
            where.insert(0, "instr(f.doc, ?) > 0")
            args.insert(0, text)
    else:
        frm, key = "resources r", "r.id"
        where[:0] = ["r.grams @> ?::text[]", "strpos(r.doc, ?) > 0"]
        args[:0] = [query_grams(text), text]
    if with_cursor and q.after:
        where.append(f"{key} > ?")
        args.append(q.after)
    return f"FROM {frm} WHERE {' AND '.join(where)} ORDER BY {key}", args


def search(db: Database, q: Query) -> tuple[list[model.Resource], int | None]:
    """One page of matches and the cursor of the next page (None on the last)."""
    body, args = _sql(db, q, with_cursor=True)
    rows = db.execute(f"SELECT {model.SELECT_R} {body} LIMIT ?", (*args, q.limit + 1)).fetchall()
    items = [model.from_row(r) for r in rows[:q.limit]]
    nxt = items[-1].id if len(rows) > q.limit and items else None
    return items, nxt


def facets(db: Database, q: Query) -> dict[str, Any]:
    """Counts per category, status, area and tag over the matches (the first FACET_ROWS)."""
    body, args = _sql(db, q, with_cursor=False)
    rows = db.execute(f"SELECT r.category, r.status, r.area, r.tags {body} LIMIT ?",
                      (*args, FACET_ROWS + 1)).fetchall()
    counts: dict[str, Counter[str]] = {k: Counter() for k in ("category", "status", "area",
                                                              "tags")}
    for row in rows[:FACET_ROWS]:
        counts["category"][row[0]] += 1
        counts["status"][row[1]] += 1
        if row[2]:
            counts["area"][row[2]] += 1
        counts["tags"].update(model.parse_tags(row[3]))
    out: dict[str, Any] = {k: [{"value": v, "count": n} for v, n in c.most_common(20)]
                           for k, c in counts.items()}
    out["total"] = min(len(rows), FACET_ROWS)
    out["capped"] = len(rows) > FACET_ROWS
    return out
