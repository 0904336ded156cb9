"""Needs (活用ニーズ) × ideas (活用アイデア): similar posts at submission, proposed matches with
an explainable score, answers from both sides, and the project that follows.

The score is a weighted sum of parts, each in 0..1 and each shown to the people matched:
shared tags (Jaccard), text similarity (character bigrams of title and body), distance
(exp(-km / DISTANCE_KM), when both posts have a place) and the same resource.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from ..db import Database
from . import model
from .textnorm import similarity

KINDS = ("need", "idea")
POSTER_TYPES = ("business", "group", "resident")
WEIGHTS = {"tags": 0.35, "text": 0.35, "distance": 0.15, "resource": 0.15}
DISTANCE_KM = 2.0
MIN_SCORE = 0.2
MAX_PROPOSALS = 5  # per approved post
SIMILAR_MIN = 0.25
PROJECT_STATUSES = ("started", "in_progress", "done", "stopped")


class PostError(ValueError):
    """Invalid post; the message names the field."""


@dataclass(frozen=True)
class Post:
    kind: str
    title: str
    body: str
    tags: tuple[str, ...]
    poster_type: str
    author_id: int
    resource_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    review: str = "pending"
    id: int | None = None


def validate(p: Post) -> Post:
    if p.kind not in KINDS:
        raise PostError("kind must be need or idea")
    if p.poster_type not in POSTER_TYPES:
        raise PostError(f"poster type must be one of {', '.join(POSTER_TYPES)}")
    if not 2 <= len(p.title.strip()) <= 120:
        raise PostError("title: 2–120 characters")
    if not 5 <= len(p.body.strip()) <= 4000:
        raise PostError("text: 5–4000 characters")
    try:
        tags = model.clean_tags(p.tags)
    except model.ResourceError as exc:
        raise PostError(str(exc)) from exc
    return Post(p.kind, p.title.strip(), p.body.strip(), tags, p.poster_type, p.author_id,
                p.resource_id, p.lat, p.lon, p.review, p.id)


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2 +
         math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def score(need: Post, idea: Post) -> tuple[float, dict[str, Any]]:
    """(score, parts): each part has its value (0..1), weight and what it is based on."""
    a, b = set(need.tags), set(idea.tags)
    shared = sorted(a & b)
    parts: dict[str, Any] = {
        "tags": {"value": len(shared) / len(a | b) if a | b else 0.0, "shared": shared},
        "text": {"value": similarity(need.title + need.body, idea.title + idea.body)},
    }
    if None not in (need.lat, need.lon, idea.lat, idea.lon):
        d = km(need.lat, need.lon, idea.lat, idea.lon)  # type: ignore[arg-type]
        parts["distance"] = {"value": math.exp(-d / DISTANCE_KM), "km": round(d, 2)}
    else:
        parts["distance"] = {"value": 0.0, "km": None}
    same = need.resource_id is not None and need.resource_id == idea.resource_id
    parts["resource"] = {"value": 1.0 if same else 0.0}
    for k, part in parts.items():
        part["value"] = round(part["value"], 3)
        part["weight"] = WEIGHTS[k]
    total = sum(p["value"] * p["weight"] for p in parts.values())
    return round(total, 3), parts


# --- database side ---------------------------------------------------------------------------

def _post(row: Any) -> Post:
    return Post(row["kind"], row["title"], row["body"], model.parse_tags(row["tags"]),
                row["poster_type"], int(row["author_id"]), row["resource_id"], row["lat"],
                row["lon"], row["review"], int(row["id"]))


def get_post(db: Database, pid: int) -> Post | None:
    row = db.execute("SELECT * FROM resource_posts WHERE id = ?", (pid,)).fetchone()
    return _post(row) if row else None


def similar(db: Database, kind: str, title: str, body: str, author_id: int,
            limit: int = 5) -> list[tuple[Post, float]]:
    """Posts that already say much the same: approved ones, and the author's own pending."""
    rows = db.execute("SELECT * FROM resource_posts WHERE review = 'approved' OR "
                      "(author_id = ? AND review = 'pending') ORDER BY id DESC LIMIT 2000",
                      (author_id,)).fetchall()
    text = title + body
    out = [(p, s) for p in map(_post, rows)
           if (s := round(similarity(text, p.title + p.body), 3)) >= SIMILAR_MIN]
    return sorted(out, key=lambda x: -x[1])[:limit]


def add_post(db: Database, p: Post, now: float | None = None) -> int:
    p = validate(p)
    if p.resource_id is not None:
        r = model.get(db, p.resource_id)
        if r is None or r.review != "approved":
            raise PostError("resource: no such resource")
        if p.lat is None and r.lat is not None:
            p = Post(**{**p.__dict__, "lat": r.lat, "lon": r.lon})
    row = db.execute(
        "INSERT INTO resource_posts (kind, title, body, tags, poster_type, resource_id, "
        "author_id, lat, lon, review, created_at) VALUES (?,?,?,?,?,?,?,?,?,'pending',?) "
        "RETURNING id", (p.kind, p.title, p.body, model.tags_text(p.tags), p.poster_type,
                         p.resource_id, p.author_id, p.lat, p.lon,
                         time.time() if now is None else now)).fetchone()
    return int(row[0])


def notify(db: Database, user_id: int, kind: str, ref_id: int, now: float) -> None:
    db.execute("INSERT INTO notices (user_id, kind, ref_id, created_at) VALUES (?,?,?,?)",
               (user_id, kind, ref_id, now))


def propose(db: Database, post_id: int, now: float | None = None) -> list[int]:
    """Matches for a newly approved post against approved posts of the other kind; both
    authors get a notice for each new match. Returns the new match ids."""
    now = time.time() if now is None else now
    p = get_post(db, post_id)
    if p is None or p.review != "approved":
        return []
    other = "idea" if p.kind == "need" else "need"
    rows = db.execute("SELECT * FROM resource_posts WHERE review = 'approved' AND kind = ? "
                      "ORDER BY id DESC LIMIT 5000", (other,)).fetchall()
    scored = []
    for q in map(_post, rows):
        need, idea = (p, q) if p.kind == "need" else (q, p)
        s, parts = score(need, idea)
        if s >= MIN_SCORE and need.author_id != idea.author_id:
            scored.append((s, need, idea, parts))
    scored.sort(key=lambda x: -x[0])
    made = []
    for s, need, idea, parts in scored[:MAX_PROPOSALS]:
        row = db.execute(
            "INSERT INTO resource_matches (need_id, idea_id, score, parts, created_at) "
            "VALUES (?,?,?,?,?) ON CONFLICT (need_id, idea_id) DO NOTHING RETURNING id",
            (need.id, idea.id, s, json.dumps(parts, ensure_ascii=False), now)).fetchone()
        if row is None:
            continue
        mid = int(row[0])
        made.append(mid)
        notify(db, need.author_id, "match", mid, now)
        notify(db, idea.author_id, "match", mid, now)
    return made


def answer(db: Database, match_id: int, user_id: int, yes: bool,
           now: float | None = None) -> int | None:
    """Record one side's answer; returns the project id when both said yes."""
    now = time.time() if now is None else now
    m = db.execute("SELECT * FROM resource_matches WHERE id = ?", (match_id,)).fetchone()
    if m is None:
        raise PostError("no such match")
    need, idea = get_post(db, m["need_id"]), get_post(db, m["idea_id"])
    assert need is not None and idea is not None
    sides = [c for c, post in (("need_answer", need), ("idea_answer", idea))
             if post.author_id == user_id]
    if not sides:
        raise PermissionError("not your match")
    for col in sides:
        db.execute(f"UPDATE resource_matches SET {col} = ? WHERE id = ?",
                   ("yes" if yes else "no", match_id))
    m = db.execute("SELECT * FROM resource_matches WHERE id = ?", (match_id,)).fetchone()
    if m["need_answer"] == "yes" and m["idea_answer"] == "yes":
        row = db.execute(
            "INSERT INTO resource_projects (match_id, title, created_at, updated_at) "
            "VALUES (?,?,?,?) ON CONFLICT (match_id) DO NOTHING RETURNING id",
            (match_id, f"{need.title} × {idea.title}", now, now)).fetchone()
        if row is not None:
            pid = int(row[0])
            notify(db, need.author_id, "project", pid, now)
            notify(db, idea.author_id, "project", pid, now)
            return pid
    return None


def set_project_status(db: Database, project_id: int, status: str, note: str,
                       now: float | None = None) -> None:
    if status not in PROJECT_STATUSES:
        raise PostError(f"status must be one of {', '.join(PROJECT_STATUSES)}")
    now = time.time() if now is None else now
    row = db.execute("SELECT m.need_id, m.idea_id FROM resource_projects p JOIN "
                     "resource_matches m ON m.id = p.match_id WHERE p.id = ?",
                     (project_id,)).fetchone()
    if row is None:
        raise PostError("no such project")
    db.execute("UPDATE resource_projects SET status = ?, note = ?, updated_at = ? WHERE id = ?",
               (status, note[:500], now, project_id))
    for pid in (row[0], row[1]):
        post = get_post(db, pid)
        if post:
            notify(db, post.author_id, "project_status", project_id, now)


def review_post(db: Database, post_id: int, approve: bool, now: float | None = None) -> list[int]:
    """A planner's decision; an approved post is matched at once."""
    db.execute("UPDATE resource_posts SET review = ? WHERE id = ? AND review = 'pending'",
               ("approved" if approve else "rejected", post_id))
    return propose(db, post_id, now) if approve else []
