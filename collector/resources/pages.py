"""The resource pages: public catalogue with search, facets and map; a resource's page;
forms to add resources and to post needs and ideas (nothing public before review); the
poster's matches and notices; the planners' administration."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, g, make_response, render_template, request

from ..app import get_db
from ..auth import get_write_db, require
from ..i18n import TEXTS, lang
from . import matching, model
from .layouts import BY_NAME
from .matching import Post, PostError
from .photos import PhotoError, process
from .search import SearchError, facets, parse_query, search
from .texts import RTEXTS

bp = Blueprint("resources_pages", __name__, url_prefix="/resources")
PLANNERS = ("admin", "planner")


def _render(template: str, status: int = 200, **kw: Any) -> Any:
    lg = lang()
    resp = make_response(render_template(template, t=TEXTS[lg], r=RTEXTS[lg], lang=lg,
                                         categories=model.CATEGORIES,
                                         statuses=model.STATUSES, **kw), status)
    resp.set_cookie("lang", lg, samesite="Lax")
    return resp


def _uid() -> int:
    p = g.principal
    if p is None or p.kind != "user":
        abort(403)
    return int(p.id)


@bp.get("")
def catalogue() -> Any:
    args = request.args.to_dict()
    args.setdefault("limit", "50")
    error = None
    try:
        q = parse_query(args, members=g.principal is not None)
        db = get_db()
        items, nxt = search(db, q)
        fac = facets(db, q)
    except SearchError as exc:
        error, items, nxt, fac = str(exc), [], None, None
    keep = {k: v for k, v in args.items() if k not in ("cursor", "lang") and v}
    return _render("resources.html", status=400 if error else 200, error=error,
                   items=items, next=nxt, facets=fac, args=keep)


@bp.get("/<int:rid>")
def detail(rid: int, error: str | None = None) -> Any:
    db = get_db()
    res = model.get(db, rid)
    planner = g.principal is not None and g.principal.role in PLANNERS
    if res is None or not (model.visible_to(res, g.principal is not None) or planner):
        abort(404)
    photos = [r[0] for r in db.execute(
        "SELECT id FROM resource_photos WHERE resource_id = ? ORDER BY id", (rid,)).fetchall()]
    can_add = g.principal is not None and g.principal.kind == "user" and (
        planner or g.principal.id == res.owner_id)
    layout = BY_NAME.get(res.dataset or "")
    return _render("resource.html", res=res, photos=photos, planner=planner, can_add=can_add,
                   dataset=f"{layout.dataset} ({layout.name})" if layout else res.dataset,
                   visibilities=model.VISIBILITIES, error=error)


@bp.post("/<int:rid>/photos")
@require()
def add_photo(rid: int) -> Any:
    """A photo for an existing resource: planners, or the account that added it."""
    db = get_write_db()
    res = model.get(db, rid)
    if res is None:
        abort(404)
    if g.principal.role not in PLANNERS and g.principal.id != res.owner_id:
        abort(403)
    upload = request.files.get("photo")
    try:
        if upload is None or not upload.filename:
            raise PhotoError("choose a photo")
        mime, w, h, data = process(upload.read())
    except PhotoError as exc:
        resp = detail(rid, error=str(exc))
        resp.status_code = 400
        return resp
    db.execute("INSERT INTO resource_photos (resource_id, mime, width, height, data, "
               "created_at) VALUES (?,?,?,?,?,?)", (rid, mime, w, h, data, time.time()))
    return detail(rid)


@bp.get("/photos/<int:pid>")
def photo(pid: int) -> Any:
    db = get_db()
    row = db.execute("SELECT resource_id, mime, data FROM resource_photos WHERE id = ?",
                     (pid,)).fetchone()
    if row is None:
        abort(404)
    res = model.get(db, row["resource_id"])
    planner = g.principal is not None and g.principal.role in PLANNERS
    if res is None or not (model.visible_to(res, g.principal is not None) or planner):
        abort(404)
    resp = make_response(bytes(row["data"]))
    resp.headers["Content-Type"] = row["mime"]
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


def _float(name: str) -> float | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise model.ResourceError(f"{name}: a number") from None


def _tags(raw: str) -> tuple[str, ...]:
    return tuple(t for t in raw.replace("、", ",").split(",") if t.strip())


@bp.route("/suggest", methods=["GET", "POST"])
@require()
def suggest() -> Any:
    rt = RTEXTS[lang()]
    if request.method == "GET":
        return _render("resource_form.html", form={}, error=None, done=None)
    form = request.form.to_dict()
    try:
        res = model.validate(model.Resource(
            category=form.get("category", ""), name=form.get("name", ""),
            name_kana=form.get("name_kana", "").strip(),
            description=form.get("description", "").strip()[:4000],
            address=form.get("address", "").strip()[:300],
            area=form.get("area", "").strip()[:100], lat=_float("lat"), lon=_float("lon"),
            tags=_tags(form.get("tags", "")), status=form.get("status", "active"),
            visibility=form.get("visibility", "public"), review="pending",
            owner_id=_uid(), owner_name=form.get("owner_name", "").strip()[:200],
            contact=form.get("contact", "").strip()[:200], url=form.get("url", "").strip()))
        upload = request.files.get("photo")
        photo_data = process(upload.read()) if upload and upload.filename else None
    except (model.ResourceError, PhotoError) as exc:
        return _render("resource_form.html", status=400, form=form, error=str(exc), done=None)
    db = get_write_db()
    db.begin()
    try:
        rid = model.save(db, res)
        if photo_data:
            mime, w, h, data = photo_data
            db.execute("INSERT INTO resource_photos (resource_id, mime, width, height, data, "
                       "created_at) VALUES (?,?,?,?,?,?)", (rid, mime, w, h, data, time.time()))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return _render("resource_form.html", form={}, error=None, done=rt["suggest_done"])


@bp.get("/posts")
def posts() -> Any:
    db = get_db()
    rows = db.execute("SELECT * FROM resource_posts WHERE review = 'approved' "
                      "ORDER BY id DESC LIMIT 200").fetchall()
    projects = db.execute("SELECT * FROM resource_projects ORDER BY id DESC LIMIT 100").fetchall()
    return _render("resource_posts.html", posts=[matching._post(r) for r in rows],
                   projects=projects)


@bp.route("/posts/new", methods=["GET", "POST"])
@require()
def new_post() -> Any:
    rt = RTEXTS[lang()]
    if request.method == "GET":
        return _render("resource_post_form.html", form={"kind": request.args.get("kind", "need"),
                                                        "resource_id": request.args.get(
                                                            "resource", "")},
                       error=None, similar=None, done=None)
    form = request.form.to_dict()
    uid = _uid()
    try:
        rid_raw = form.get("resource_id", "").strip()
        if rid_raw and not rid_raw.isdigit():
            raise PostError("resource: a number")
        post = matching.validate(Post(
            kind=form.get("kind", ""), title=form.get("title", ""), body=form.get("body", ""),
            tags=_tags(form.get("tags", "")), poster_type=form.get("poster_type", ""),
            author_id=uid, resource_id=int(rid_raw) if rid_raw else None))
    except PostError as exc:
        return _render("resource_post_form.html", status=400, form=form, error=str(exc),
                       similar=None, done=None)
    db = get_write_db()
    if form.get("confirmed") != "1":
        similar = matching.similar(db, post.kind, post.title, post.body, uid)
        if similar:  # show them first: the poster decides whether it is a duplicate
            return _render("resource_post_form.html", form=form, error=None, similar=similar,
                           done=None)
    db.begin()
    try:
        matching.add_post(db, post)
        db.commit()
    except PostError as exc:
        db.rollback()
        return _render("resource_post_form.html", status=400, form=form, error=str(exc),
                       similar=None, done=None)
    except BaseException:
        db.rollback()
        raise
    return _render("resource_post_form.html", form={"kind": post.kind}, error=None,
                   similar=None, done=rt["post_done"])


def _matches_for(db: Any, where: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT m.*, n.title AS need_title, n.author_id AS need_author, i.title AS idea_title, "
        "i.author_id AS idea_author, p.id AS project_id, p.status AS project_status, "
        "p.note AS project_note "
        "FROM resource_matches m JOIN resource_posts n ON n.id = m.need_id "
        "JOIN resource_posts i ON i.id = m.idea_id "
        f"LEFT JOIN resource_projects p ON p.match_id = m.id WHERE {where} "
        "ORDER BY m.id DESC LIMIT 200", args).fetchall()
    out = []
    for row in rows:
        d = {k: row[k] for k in row.keys()}  # noqa: SIM118 (Row is a tuple)
        d["parts"] = json.loads(row["parts"])
        out.append(d)
    return out


@bp.get("/mine")
@require()
def mine() -> Any:
    uid = _uid()
    db = get_db()
    my_posts = [matching._post(r) for r in db.execute(
        "SELECT * FROM resource_posts WHERE author_id = ? ORDER BY id DESC", (uid,)).fetchall()]
    matches = _matches_for(db, "n.author_id = ? OR i.author_id = ?", (uid, uid))
    notices = db.execute("SELECT * FROM notices WHERE user_id = ? ORDER BY id DESC LIMIT 50",
                         (uid,)).fetchall()
    return _render("resource_mine.html", posts=my_posts, matches=matches, notices=notices,
                   uid=uid)


@bp.post("/matches/<int:mid>/answer")
@require()
def answer(mid: int) -> Any:
    uid = _uid()
    db = get_write_db()
    db.begin()
    try:
        matching.answer(db, mid, uid, request.form.get("answer") == "yes")
        db.commit()
    except PermissionError:
        db.rollback()
        abort(403)
    except PostError:
        db.rollback()
        abort(404)
    except BaseException:
        db.rollback()
        raise
    return mine()


@bp.get("/admin")
@require(*PLANNERS)
def admin() -> Any:
    db = get_db()
    pending_res = [model.from_row(r) for r in db.execute(
        f"SELECT {model.SELECT_R} FROM resources r WHERE review = 'pending' "
        "ORDER BY id").fetchall()]
    pending_posts = [matching._post(r) for r in db.execute(
        "SELECT * FROM resource_posts WHERE review = 'pending' ORDER BY id").fetchall()]
    projects = db.execute("SELECT * FROM resource_projects ORDER BY id DESC").fetchall()
    matches = _matches_for(db, "1 = 1", ())
    return _render("resource_admin.html", pending_res=pending_res, pending_posts=pending_posts,
                   projects=projects, matches=matches,
                   project_statuses=matching.PROJECT_STATUSES)


@bp.post("/admin/review")
@require(*PLANNERS)
def review() -> Any:
    what, raw_id = request.form.get("what"), request.form.get("id", "")
    decision = request.form.get("decision")
    if what not in ("resource", "post") or not raw_id.isdigit() or decision not in (
            "approve", "reject"):
        abort(400, description="what=resource|post, id and decision=approve|reject")
    db = get_write_db()
    db.begin()
    try:
        if what == "post":
            matching.review_post(db, int(raw_id), decision == "approve")
        else:
            db.execute("UPDATE resources SET review = ? WHERE id = ? AND review = 'pending'",
                       ("approved" if decision == "approve" else "rejected", int(raw_id)))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return admin()


@bp.post("/admin/project")
@require(*PLANNERS)
def project() -> Any:
    raw_id = request.form.get("id", "")
    if not raw_id.isdigit():
        abort(400, description="id")
    db = get_write_db()
    db.begin()
    try:
        matching.set_project_status(db, int(raw_id), request.form.get("status", ""),
                                    request.form.get("note", ""))
        db.commit()
    except PostError as exc:
        db.rollback()
        abort(400, description=str(exc))
    except BaseException:
        db.rollback()
        raise
    return admin()


@bp.post("/admin/resource")
@require(*PLANNERS)
def edit_resource() -> Any:
    """A planner corrects a resource: category, name, kana, description, tags, status (e.g.
    at risk of being lost) and visibility. Corrections show in search and in exports."""
    raw_id = request.form.get("id", "")
    if not raw_id.isdigit():
        abort(400, description="id")
    db = get_write_db()
    old = model.get(db, int(raw_id))
    if old is None:
        abort(404)
    f = request.form
    try:
        new = model.validate(replace(
            old, category=f.get("category", old.category), name=f.get("name", old.name),
            name_kana=f.get("name_kana", old.name_kana).strip()[:200],
            description=f.get("description", old.description).strip()[:4000],
            tags=_tags(f["tags"]) if "tags" in f else old.tags,
            status=f.get("status", old.status), visibility=f.get("visibility", old.visibility)))
    except model.ResourceError as exc:
        resp = detail(old.id or 0, error=str(exc))
        resp.status_code = 400
        return resp
    db.begin()
    try:
        model.save(db, new)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return detail(int(raw_id))
