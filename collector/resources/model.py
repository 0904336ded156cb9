"""The resource catalogue: vocabularies, the row type, and the writes that keep the search
index in step (every write of a resource goes through `save`)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..db import Database
from .textnorm import index_grams, normalise, spaced

CATEGORIES = ("nature", "culture", "industry", "people", "space")
STATUSES = ("active", "at_risk", "vacant", "lost")
VISIBILITIES = ("public", "members")
REVIEWS = ("pending", "approved", "rejected")
MAX_TAGS = 20
MAX_TAG_LEN = 40


class ResourceError(ValueError):
    """Invalid resource data; the message names the field."""


@dataclass(frozen=True)
class Resource:
    category: str
    name: str
    name_kana: str = ""
    name_en: str = ""
    description: str = ""
    kind: str = ""
    address: str = ""
    area: str = ""
    lat: float | None = None
    lon: float | None = None
    tags: tuple[str, ...] = ()
    status: str = "active"
    visibility: str = "public"
    review: str = "approved"
    owner_id: int | None = None
    owner_name: str = ""
    contact: str = ""  # personal data: never shown publicly, never exported
    url: str = ""
    dataset: str | None = None
    source_key: str | None = None
    source_file: str | None = None
    source_line: int | None = None
    source_row: dict[str, str] | None = field(default=None, compare=False)
    id: int | None = None


COLUMNS = tuple(f.name for f in fields(Resource) if f.name != "id")
# What reads select (never the search columns: on PostgreSQL the row also holds doc and grams).
SELECT_R = ", ".join(f"r.{c}" for c in ("id", *COLUMNS))


def clean_tags(raw: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for t in raw:
        t = t.strip()
        if not t or t in out:
            continue
        if len(t) > MAX_TAG_LEN:
            raise ResourceError(f"tags: each at most {MAX_TAG_LEN} characters")
        out.append(t)
    if len(out) > MAX_TAGS:
        raise ResourceError(f"tags: at most {MAX_TAGS}")
    return tuple(out)


def validate(r: Resource) -> Resource:
    if r.category not in CATEGORIES:
        raise ResourceError(f"category must be one of {', '.join(CATEGORIES)}")
    if not r.name.strip() or len(r.name) > 200:
        raise ResourceError("name: 1–200 characters")
    if r.status not in STATUSES:
        raise ResourceError(f"status must be one of {', '.join(STATUSES)}")
    if r.visibility not in VISIBILITIES:
        raise ResourceError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if r.review not in REVIEWS:
        raise ResourceError(f"review must be one of {', '.join(REVIEWS)}")
    if (r.lat is None) != (r.lon is None):
        raise ResourceError("lat and lon: both or neither")
    if r.lat is not None and r.lon is not None and not (
            -90 <= r.lat <= 90 and -180 <= r.lon <= 180):
        raise ResourceError("lat/lon out of range")
    if r.url and not r.url.startswith(("http://", "https://")):
        raise ResourceError("url must start with http:// or https://")
    return replace(r, name=r.name.strip(), tags=clean_tags(r.tags))


def tags_text(tags: tuple[str, ...]) -> str:
    # |a|b| : a tag filter is LIKE '%|tag|%' on both engines
    return "|" + "|".join(tags) + "|" if tags else ""


def parse_tags(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.split("|") if t)


def search_doc(r: Resource) -> str:
    """The normalised text a resource is found by."""
    parts = [r.name, r.name_kana, r.name_en, r.kind, r.area, r.address, " ".join(r.tags),
             r.owner_name, r.description[:300]]
    return normalise(" ".join(p for p in parts if p))


def _values(r: Resource, now: float) -> list[Any]:
    d = asdict(r)
    d["tags"] = tags_text(r.tags)
    d["source_row"] = json.dumps(r.source_row, ensure_ascii=False) if r.source_row else None
    return [d[c] for c in COLUMNS]


def save(db: Database, r: Resource, now: float | None = None) -> int:
    """Insert (id None) or update a resource and its search entry; returns its id. The caller
    holds the transaction."""
    now = time.time() if now is None else now
    vals = _values(r, now)
    if r.id is None:
        cols = ", ".join(COLUMNS)
        marks = ", ".join("?" * (len(COLUMNS) + 2))
        row = db.execute(f"INSERT INTO resources ({cols}, created_at, updated_at) "
                         f"VALUES ({marks}) RETURNING id", (*vals, now, now)).fetchone()
        rid = int(row[0])
    else:
        rid = r.id
        sets = ", ".join(f"{c} = ?" for c in COLUMNS)
        db.execute(f"UPDATE resources SET {sets}, updated_at = ? WHERE id = ?",
                   (*vals, now, rid))
    index(db, rid, search_doc(r))
    return rid


def index(db: Database, rid: int, doc: str) -> None:
    if db.dialect == "sqlite":
        old = db.execute("SELECT doc FROM resources_fts WHERE rowid = ?", (rid,)).fetchone()
        if old is not None:  # a contentless table is told what it held
            db.execute("INSERT INTO resources_fts1 (resources_fts1, rowid, doc) "
                       "VALUES ('delete', ?, ?)", (rid, spaced(old[0])))
            db.execute("DELETE FROM resources_fts WHERE rowid = ?", (rid,))
        db.execute("INSERT INTO resources_fts (rowid, doc) VALUES (?, ?)", (rid, doc))
        db.execute("INSERT INTO resources_fts1 (rowid, doc) VALUES (?, ?)", (rid, spaced(doc)))
    else:
        db.execute("UPDATE resources SET doc = ?, grams = ? WHERE id = ?",
                   (doc, index_grams(doc), rid))


def from_row(row: Any) -> Resource:
    d = {c: row[c] for c in COLUMNS}
    d["tags"] = parse_tags(row["tags"])
    d["source_row"] = json.loads(row["source_row"]) if row["source_row"] else None
    return Resource(id=int(row["id"]), **d)


def get(db: Database, rid: int) -> Resource | None:
    row = db.execute(f"SELECT {SELECT_R} FROM resources r WHERE id = ?", (rid,)).fetchone()
    return from_row(row) if row else None


def find_source(db: Database, dataset: str, key: str) -> Resource | None:
    row = db.execute(f"SELECT {SELECT_R} FROM resources r WHERE dataset = ? AND source_key = ?",
                     (dataset, key)).fetchone()
    return from_row(row) if row else None


def visible_to(r: Resource, signed_in: bool) -> bool:
    """Who may see a resource at all: reviewed, and public or for members."""
    return r.review == "approved" and (r.visibility == "public" or signed_in)


def public_dict(r: Resource) -> dict[str, Any]:
    """What the API and pages show: never the contact, never the raw source row."""
    return {"id": r.id, "category": r.category, "name": r.name, "name_kana": r.name_kana,
            "name_en": r.name_en, "description": r.description, "kind": r.kind,
            "address": r.address, "area": r.area, "lat": r.lat, "lon": r.lon,
            "tags": list(r.tags), "status": r.status, "visibility": r.visibility,
            "owner": r.owner_name, "url": r.url,
            "provenance": ({"dataset": r.dataset, "file": r.source_file, "line": r.source_line}
                           if r.dataset else None)}
