"""OwnTracks over HTTP (`POST /api/v1/owntracks`) and the admin list of phones.

The app's HTTP mode sends each report as a JSON body with Basic auth; the password is an API
token of role `device` (`machimori collector token add --role device --name NAME`) and the
OwnTracks user and device come in `X-Limit-U` / `X-Limit-D`. The answer is a JSON array (the
apps read cards and commands from it; ours is empty). A malformed report gets a 4xx naming
the field and is kept as a dead letter; nothing about a report is trusted before
machimori.contract.owntracks has checked it.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, g, jsonify, render_template, request

from machimori.contract.owntracks import MAX_BYTES, OwnTracksError, check_names, parse

from .app import get_db
from .auth import get_write_db, require
from .i18n import TEXTS, lang
from .phones import PhoneBound, PhoneError, link, list_phones, record

bp = Blueprint("owntracks", __name__)
COUNTS: dict[str, int] = {}  # this process's reports by outcome, for /metrics


def _count(outcome: str) -> None:
    COUNTS[outcome] = COUNTS.get(outcome, 0) + 1


def _refuse(status: int, code: str, message: str, raw: bytes, where: str) -> Any:
    _count(code)
    db = get_write_db()
    db.execute("INSERT INTO dead_letters (topic, payload, reason, received_at) VALUES (?,?,?,?)",
               (where[:200], raw[:MAX_BYTES], f"owntracks: {message}", time.time()))
    resp = jsonify({"error": code, "message": message})
    resp.status_code = status
    return resp


@bp.post("/api/v1/owntracks")
@require("device")
def report() -> Any:
    if (request.content_length or 0) > MAX_BYTES:
        _count("too_large")
        resp = jsonify({"error": "too_large", "message": f"at most {MAX_BYTES} bytes"})
        resp.status_code = 413
        return resp
    raw = request.get_data(cache=False)[:MAX_BYTES + 1]
    auth = request.authorization
    user = request.headers.get("X-Limit-U") or (auth.username if auth else "") or ""
    device = request.headers.get("X-Limit-D", "")
    where = f"owntracks/http/{user[:64]}/{device[:64]}"
    try:
        check_names(user, device)
        rep = parse(raw)
    except OwnTracksError as exc:
        return _refuse(400, "bad_report", str(exc), raw, where)
    if rep is None:
        _count("ignored")
        return jsonify([])
    db = get_write_db()
    db.begin()
    try:
        record(db, user, device, rep, "http", time.time(), token_id=g.principal.id)
        db.commit()
    except PhoneBound as exc:
        db.rollback()
        return _refuse(403, "bound_to_other_token", str(exc), raw, where)
    except BaseException:
        db.rollback()
        raise
    _count("stored")
    return jsonify([])


@bp.route("/admin/phones", methods=["GET", "POST"])
@require("admin")
def phones() -> Any:
    t = TEXTS[lang()]
    message = error = None
    status = 200
    if request.method == "POST":
        try:
            person = request.form.get("person", "").strip() or None
            link(get_write_db(), request.form.get("user", ""), request.form.get("device", ""),
                 person)
            message = t["phone_linked"]
        except PhoneError as exc:
            error, status = str(exc), 400
    rows = list_phones(get_db() if request.method == "GET" else get_write_db())
    return render_template("admin_phones.html", t=t, lang=lang(), phones=rows, now=time.time(),
                           message=message, error=error), status
