"""Sign-in, roles and CSRF for the web app; bearer tokens for integrations.

Every request gets `g.principal` (a signed-in user, a token, or None). Pages and endpoints
declare who may use them with `@require(...)`; state-changing requests made with a session
cookie must carry the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .app import get_db
from .db import Database
from .i18n import TEXTS, lang
from .store import connect
from .users import (
    LAST_USED_EVERY_S,
    PEOPLE_ROLES,
    SESSION_SEEN_EVERY_S,
    authenticate,
    end_session,
    login_blocked,
    record_login,
    session_seen,
    session_user,
    start_session,
    token_lookup,
    token_used,
)

bp = Blueprint("auth", __name__)
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Endpoints that authenticate each request by their own signature (a provider's webhook), not
# a session cookie: no CSRF token applies. Blueprints add their endpoint names.
CSRF_EXEMPT: set[str] = set()


def get_write_db() -> Database:
    if "write_db" not in g:
        g.write_db = connect(current_app.config["DATABASE"])
    return g.write_db


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


def _api_error(status: int, code: str, message: str, basic: bool = False) -> Any:
    resp = jsonify({"error": code, "message": message})
    resp.status_code = status
    if status == 401:
        scheme = "Basic" if basic else "Bearer"
        resp.headers["WWW-Authenticate"] = f'{scheme} realm="machimori"'
    return resp


@bp.before_app_request
def load_principal() -> Any:
    g.principal = None
    g.via = None
    header = request.headers.get("Authorization", "")
    token = None
    if header.startswith("Bearer "):
        token = header[7:].strip()
    elif header.startswith("Basic "):
        # Phones (OwnTracks HTTP mode) can only send Basic auth: the password is the token.
        try:
            token = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            token = ""
    if token is not None:
        found = token_lookup(get_db(), token)
        if found is None:
            return _api_error(401, "unauthorized", "unknown or revoked API token",
                              basic=header.startswith("Basic "))
        g.principal, g.via = found[0], "token"
        now = time.time()
        if found[1] is None or now - found[1] > LAST_USED_EVERY_S:
            token_used(get_write_db(), found[0].id, now)
    elif "sid" in session:
        live = session_user(get_db(), session["sid"])
        if live is None:
            session.clear()  # ended on the server: signed out, disabled or changed
        else:
            g.principal, g.via = live[0], "session"
            now = time.time()
            if now - live[1] > SESSION_SEEN_EVERY_S:
                session_seen(get_write_db(), session["sid"], now)
    if request.method in UNSAFE and g.via != "token" and request.endpoint not in CSRF_EXEMPT:
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            if _wants_json():
                return _api_error(400, "csrf", "CSRF token missing or invalid")
            abort(400, description="CSRF token missing or invalid: reload the page and retry")
    return None


@bp.teardown_app_request
def close_write_db(exc: BaseException | None) -> None:
    db = g.pop("write_db", None)
    if db is not None:
        db.close()


def require(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Signed in (any role of a person if none given), with one of `roles`. A device token
    (a phone's) is let in only where `device` is named."""
    allowed = roles or PEOPLE_ROLES
    def deco(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*a: Any, **kw: Any) -> Any:
            p = g.principal
            if p is None:
                if _wants_json():
                    return _api_error(401, "unauthorized", "sign in or send a bearer token")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if p.role not in allowed:
                if _wants_json():
                    return _api_error(403, "forbidden", f"role {p.role!r} may not do this")
                abort(403)
            return view(*a, **kw)
        return wrapped
    return deco


def _safe_next(target: str | None) -> str:
    # Only local paths: never bounce a signed-in user to another site.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("heat.page")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    t = TEXTS[lang()]
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        ip = request.remote_addr or "-"
        db = get_write_db()
        now = time.time()
        wait = login_blocked(db, username, ip, now)
        if wait > 0:
            error, status = str(t["login_wait"]).format(minutes=int(wait // 60) + 1), 429
        elif not username or not password:
            error, status = t["login_missing"], 400
        else:
            p = authenticate(db, username, password)
            record_login(db, username, ip, p is not None, now)
            if p is not None:
                old = session.get("sid")
                if old:
                    end_session(db, old)
                session.clear()
                session.permanent = True
                session["sid"] = start_session(db, p.id, ip, now)
                session["csrf"] = secrets.token_urlsafe(32)
                return redirect(_safe_next(request.args.get("next")))
            error, status = t["login_failed"], 401
    resp = current_app.make_response(render_template(
        "login.html", t=t, lang=lang(), error=error, next=request.args.get("next", "")))
    resp.status_code = status
    if status == 429:
        resp.headers["Retry-After"] = "900"
    return resp


@bp.post("/logout")
def logout() -> Any:
    if "sid" in session:
        end_session(get_write_db(), session["sid"])
    session.clear()
    return redirect(url_for("heat.page"))
