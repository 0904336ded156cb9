"""The watch in the web app: acknowledgement links from messages, the SMS reply webhook, and
the responders' JSON API (alerts, actions, silences). docs/watch.md and docs/api.md."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)

from ..app import get_db
from ..auth import CSRF_EXEMPT, get_write_db, require
from ..i18n import TEXTS, lang
from . import crypto, links
from .engine import CAUSES_EN, CAUSES_JA, Settings
from .people import open_person, persons_for_user, phone
from .state import act, add_silence, run
from .templates import clock
from .texts import WATCH_TEXTS

bp = Blueprint("watch", __name__)
ACTIONS = ("acknowledge", "resolve", "escalate")
ACK_WORDS = {"1", "１", "了解", "ok", "はい", "対応します"}
RESOLVE_WORDS = {"2", "２", "解決"}
LINK_TTL_S = 24 * 3600.0



@bp.errorhandler(crypto.WatchKeyError)
def no_key(exc: Exception) -> Any:
    """No key ring (e.g. PostgreSQL without one): the watch pages and API say so with 503.
    The Content-Security-Policy comes from the app's hook (collector/csp.py), as everywhere."""
    return jsonify({"error": "unavailable", "message": f"watch key ring: {exc}"}), 503


def keys() -> crypto.Keyring:
    ring = current_app.extensions.get("watch_keys")
    if ring is None:
        ring = crypto.load(current_app.config.get("WATCH_KEY_FILE"),
                           current_app.config["DATABASE"])
        current_app.extensions["watch_keys"] = ring
    return ring


def settings() -> Settings:
    return current_app.config.get("WATCH_SETTINGS") or Settings()


def _t() -> dict[str, Any]:
    return {**TEXTS[lang()], **WATCH_TEXTS[lang()]}


def _alert_json(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "subject": r["subject"], "cause": r["cause"],
            "cause_ja": CAUSES_JA.get(r["cause"], r["cause"]),
            "cause_en": CAUSES_EN.get(r["cause"], r["cause"]), "severity": r["severity"],
            "state": r["state"], "muted": r["muted"], "opened_at": r["opened_at"],
            "updated_at": r["updated_at"], "events": r["events"], "step": r["step"],
            "gw": r["gw"], "device": r["device"], "acked_by": r["acked_by"],
            "resolved_at": r["resolved_at"]}


# ---- acknowledgement links (no sign-in: the signed link is the authority)
@bp.route("/watch/a/<token>", methods=["GET", "POST"])
def ack_link(token: str) -> Any:
    t = _t()
    db = get_write_db()
    got = links.read(db, token, current_app.config.get("WATCH_LINK_TTL_S", LINK_TTL_S))
    if isinstance(got, str):
        return render_template("watch_ack.html", t=t, lang=lang(), error=t["link_" + got],
                               alert=None, done=None), 410 if got == "expired" else 404
    alert_id, rid = got
    done = None
    if request.method == "POST":
        action = request.form.get("action", "")
        if action not in ACTIONS:
            abort(400, description="action must be acknowledge, resolve or escalate")
        note = (request.form.get("note") or "").strip()[:500] or None
        act(db, settings(), alert_id, action, f"responder:{rid}", time.time(),
            note or "リンクから")
        done = action
    row = db.execute("SELECT * FROM watch_alerts WHERE id = ?", (alert_id,)).fetchone()
    if row is None:
        return render_template("watch_ack.html", t=t, lang=lang(), error=t["link_invalid"],
                               alert=None, done=None), 404
    names = CAUSES_EN if lang() == "en" else CAUSES_JA
    return render_template("watch_ack.html", t=t, lang=lang(), error=None, alert=row,
                           cause=names.get(row["cause"], row["cause"]), done=done,
                           opened=clock(row["opened_at"], settings().utc_offset_h, lang()))


# ---- SMS replies (Twilio's inbound webhook: form-encoded, X-Twilio-Signature)
def twilio_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """base64(HMAC-SHA1(auth token, URL + each parameter's name and value, sorted by name))."""
    data = url + "".join(k + v for k, v in sorted(params, key=lambda kv: kv[0]))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
                            ).decode()


def _twiml(text: str | None = None) -> Any:
    body = "<Response/>" if text is None else \
        f"<Response><Message>{_xml(text)}</Message></Response>"
    return current_app.response_class('<?xml version="1.0" encoding="UTF-8"?>' + body,
                                      mimetype="text/xml")


def _xml(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@bp.post("/watch/sms")
def sms_inbound() -> Any:
    token = current_app.config.get("WATCH_SMS_TOKEN") or ""
    base = current_app.config.get("WATCH_PUBLIC_URL") or request.host_url.rstrip("/")
    url = base + request.full_path.rstrip("?")
    sent = request.headers.get("X-Twilio-Signature", "")
    params = list(request.form.items(multi=True))
    if not token or not hmac.compare_digest(sent, twilio_signature(token, url, params)):
        return jsonify({"error": "forbidden", "message": "bad or missing X-Twilio-Signature"}
                       ), 403
    try:
        sender = phone(request.form.get("From", ""))
    except ValueError:
        return jsonify({"error": "bad_request", "message": "From is not a phone number"}), 400
    word = (request.form.get("Body") or "").strip().lower()[:40]
    db = get_write_db()
    ring = keys()
    h = ring.lookup_hash(sender)
    now = time.time()
    person = db.execute("SELECT id FROM watch_persons WHERE phone_hash = ?", (h,)).fetchone()
    if person is not None:
        replied, _ = run(db, settings(), now, lambda e: e.resident_replied(person[0], now))
        return _twiml("ありがとうございます。お返事を受け取りました。" if replied else None)
    rid = db.execute("SELECT id FROM watch_responders WHERE phone_hash = ?", (h,)).fetchone()
    if rid is None:
        return _twiml()
    action = "acknowledge" if word in ACK_WORDS else "resolve" if word in RESOLVE_WORDS else None
    if action is None:
        return _twiml("「1」で対応します、「2」で解決です。")
    last = db.execute("SELECT n.alert FROM watch_notifications n JOIN watch_alerts a ON "
                      "a.id = n.alert WHERE n.responder = ? AND n.channel = 'sms' AND "
                      "a.state <> 'resolved' ORDER BY n.id DESC LIMIT 1", (rid[0],)).fetchone()
    if last is None:
        return _twiml("対応中のお知らせはありません。")
    act(db, settings(), int(last[0]), action, f"responder:{rid[0]}", now, "SMS の返信")
    return _twiml("受け付けました。ありがとうございます。")


CSRF_EXEMPT.add("watch.sms_inbound")  # authenticated by the provider's signature instead


# ---- the responders' API
def _visible_subjects() -> set[str] | None:
    """None: everything (admin); else the subjects of the persons assigned to this user."""
    p = g.principal
    if p.role == "admin":
        return None
    db = get_db()
    persons = persons_for_user(db, p.name)
    subjects = {"person:" + x for x in persons}
    for x in persons:
        r = db.execute("SELECT household FROM watch_persons WHERE id = ?", (x,)).fetchone()
        if r and r[0]:
            subjects.add("household:" + r[0])
    if p.role == "responder":
        tiers = {int(r[0]) for r in db.execute(
            "SELECT tier FROM watch_responders WHERE username = ?", (p.name,)).fetchall()}
        if 4 in tiers:  # city staff also take gateways and devices nobody is linked to
            subjects.add("*staff*")
    return subjects


def _may_see(subject: str, visible: set[str] | None) -> bool:
    if visible is None or subject in visible:
        return True
    return "*staff*" in visible and subject.startswith(("gw:", "device:"))


@bp.get("/api/v1/watch/alerts")
@require("admin", "responder", "family")
def alerts() -> Any:
    state = request.args.get("state", "active")
    if state not in ("active", "resolved", "all"):
        abort(400, description="state must be active, resolved or all")
    where = {"active": "state <> 'resolved'", "resolved": "state = 'resolved'",
             "all": "1 = 1"}[state]
    rows = get_db().execute(f"SELECT * FROM watch_alerts WHERE {where} "
                            "ORDER BY severity DESC, opened_at LIMIT 500").fetchall()
    vis = _visible_subjects()
    out = [_alert_json(r) for r in rows if _may_see(r["subject"], vis)]
    _name(out)
    _deliveries(out)
    return jsonify({"items": out})


def _deliveries(items: list[dict[str, Any]]) -> None:
    """Who was told, how, and whether it arrived: one entry per target and channel."""
    db = get_db()
    for a in items:
        a["deliveries"] = [{
            "tier": r["tier"], "channel": r["channel"], "template": r["template"],
            "to": "resident" if r["person"] else f"responder:{r['responder']}",
            "state": r["state"], "attempts": r["attempts"], "sent_at": r["sent_at"],
            "error": r["last_error"]} for r in db.execute(
                "SELECT tier, channel, template, person, responder, state, attempts, sent_at, "
                "last_error FROM watch_notifications WHERE alert = ? ORDER BY id",
                (a["id"],)).fetchall()]


def _name(items: list[dict[str, Any]]) -> None:
    """The person each alert is about, by name, for whoever may see it (audited per person)."""
    p = g.principal
    db = get_write_db()
    now = time.time()
    names: dict[str, tuple[str, str] | None] = {}
    for a in items:
        kind, _, ident = a["subject"].partition(":")
        if kind == "household":
            r = db.execute("SELECT id FROM watch_persons WHERE household = ? ORDER BY id",
                           (ident,)).fetchone()
            ident = r[0] if r else ""
        elif kind != "person":
            continue
        if ident not in names:
            who = open_person(db, keys(), ident, p.name, p.role, now, "alert list") \
                if ident else None
            names[ident] = (ident, who["name"]) if who else None
        found = names[ident]
        if found is not None:
            a["person"], a["name"] = found


@bp.post("/api/v1/watch/alerts/<int:alert_id>/<action>")
@require("admin", "responder", "family")
def alert_action(alert_id: int, action: str) -> Any:
    if action not in ACTIONS:
        return jsonify({"error": "bad_request", "message": "action must be acknowledge, "
                        "resolve or escalate"}), 400
    db = get_write_db()
    row = db.execute("SELECT subject FROM watch_alerts WHERE id = ?", (alert_id,)).fetchone()
    if row is None or not _may_see(row[0], _visible_subjects()):
        return jsonify({"error": "not_found", "message": "no such alert"}), 404
    body = request.get_json(silent=True) or {}
    note = body.get("note") if isinstance(body, dict) else None
    if note is not None and (not isinstance(note, str) or len(note) > 500):
        return jsonify({"error": "bad_request", "message": "note: text up to 500 characters"}
                       ), 400
    a = act(db, settings(), alert_id, action, f"user:{g.principal.name}", time.time(), note)
    if a is None:
        return jsonify({"error": "conflict", "message": "the alert is already resolved"}), 409
    return jsonify(_alert_json(db.execute("SELECT * FROM watch_alerts WHERE id = ?",
                                          (alert_id,)).fetchone()))


@bp.post("/api/v1/watch/silences")
@require("admin", "responder")
def silences() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "bad_request", "message": "send a JSON object"}), 400
    subject, cause = body.get("subject"), body.get("cause", "*")
    ends, reason = body.get("ends_at"), body.get("reason")
    starts = body.get("starts_at", time.time())
    if not isinstance(subject, str) or not subject.startswith(("person:", "household:")):
        return jsonify({"error": "bad_request", "message":
                        "subject: person:<id> or household:<id>"}), 400
    if not isinstance(ends, int | float) or not isinstance(starts, int | float):
        return jsonify({"error": "bad_request", "message": "ends_at (and starts_at): Unix "
                        "seconds"}), 400
    if not isinstance(reason, str) or not 1 <= len(reason) <= 100:
        return jsonify({"error": "bad_request", "message": "reason: 1–100 characters, e.g. "
                        "入院中"}), 400
    if not _may_see(subject, _visible_subjects()):
        return jsonify({"error": "not_found", "message": "no such person"}), 404
    try:
        sid = add_silence(get_write_db(), subject, str(cause), float(starts), float(ends),
                          reason, f"user:{g.principal.name}")
    except ValueError as e:
        return jsonify({"error": "bad_request", "message": str(e)}), 400
    return jsonify({"id": sid, "subject": subject, "cause": cause, "starts_at": starts,
                    "ends_at": ends, "reason": reason}), 201

