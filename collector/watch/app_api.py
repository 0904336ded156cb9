"""The responders' app: its page, manifest and service worker, a person's timeline and last-seen
place, and web-push subscriptions. Reads through the sensitivity rules: a family member or a
responder sees only the persons assigned to them; every name opened is audited."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, g, jsonify, make_response, render_template, request

from ..auth import get_write_db, require
from ..i18n import TEXTS, lang
from . import crypto
from .channels import vapid_public
from .pages import no_key
from .people import open_person, responder_ids_for_user, set_push_subscription
from .texts import WATCH_TEXTS

bp = Blueprint("watch_app", __name__)
STATIC = Path(__file__).parent / "static"
TIMELINE_S = 48 * 3600  # what the timeline shows, back from the newest thing known



bp.register_error_handler(crypto.WatchKeyError, no_key)


@bp.get("/watch/")
@require("admin", "responder", "family")
def app_page() -> Any:
    lg = lang()
    t = {**TEXTS[lg], **WATCH_TEXTS[lg]}
    resp = make_response(render_template("watch_app.html", t=t, lang=lg,
                                         app_texts=WATCH_TEXTS[lg]["app"]))
    resp.set_cookie("lang", lg, samesite="Lax")
    return resp


@bp.get("/watch/manifest.webmanifest")
def manifest() -> Any:
    body = {"name": "まちもり見守り", "short_name": "見守り", "lang": "ja", "start_url": "/watch/",
            "scope": "/watch/", "display": "standalone", "background_color": "#ffffff",
            "theme_color": "#0f5c4d",
            "icons": [{"src": "/watch/icon.svg", "sizes": "any", "type": "image/svg+xml"}]}
    return current_app.response_class(json.dumps(body, ensure_ascii=False),
                                      mimetype="application/manifest+json")


def _static(name: str, mimetype: str) -> Any:
    resp = current_app.response_class((STATIC / name).read_text(encoding="utf-8"),
                                      mimetype=mimetype)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/watch/sw.js")
def service_worker() -> Any:
    return _static("sw.js", "text/javascript")  # served from /watch/: its scope is the app


@bp.get("/watch/app.js")
def app_js() -> Any:
    return _static("app.js", "text/javascript")


@bp.get("/watch/icon.svg")
def icon() -> Any:
    return _static("icon.svg", "image/svg+xml")


def _keys() -> Any:
    from .pages import keys

    return keys()


@bp.get("/api/v1/watch/persons/<pid>")
@require("admin", "responder", "family")
def person(pid: str) -> Any:
    p = g.principal
    db = get_write_db()  # the audit row is written in the same breath as the view
    who = open_person(db, _keys(), pid, p.name, p.role, time.time(), "app")
    if who is None:
        return jsonify({"error": "not_found", "message": "no such person for you"}), 404
    devices = [r[0] for r in db.execute("SELECT device FROM watch_links WHERE person = ? "
                                        "OR (household = ? AND household IS NOT NULL)",
                                        (pid, who["household"])).fetchall()]
    marks = ",".join("?" * len(devices)) or "NULL"
    last = db.execute(f"SELECT id, gw, lat, lon, name, latest_end FROM devices WHERE id IN "
                      f"({marks}) AND kind = 'presence' ORDER BY latest_end DESC LIMIT 1",
                      devices).fetchone()
    newest = db.execute(f'SELECT max("end") FROM summaries WHERE device IN ({marks})',
                        devices).fetchone()[0] or time.time()
    since = newest - TIMELINE_S
    items: list[dict[str, Any]] = []
    for r in db.execute(f"SELECT kind, device, gw, ts, data FROM events WHERE device IN "
                        f"({marks}) AND ts >= ? ORDER BY ts", (*devices, since)).fetchall():
        items.append({"t": r["ts"], "type": "event", "kind": r["kind"], "gw": r["gw"]})
    # Tag sightings: one row per gateway and hour it was heard in (its zone).
    hours: dict[tuple[str, float], int] = {}
    meter: dict[float, float] = {}
    for r in db.execute(f'SELECT kind, gw, "end", n, "values" FROM summaries WHERE device IN '
                        f'({marks}) AND "end" >= ? ORDER BY "end"', (*devices, since)).fetchall():
        h = r["end"] // 3600 * 3600
        if r["kind"] == "presence":
            hours[(r["gw"], h)] = hours.get((r["gw"], h), 0) + int(r["n"])
        elif r["kind"] == "meter":
            v = json.loads(r["values"]).get("energy_wh")
            meter[h] = meter.get(h, 0.0) + (float(v["mean"]) if v else 0.0)
    items += [{"t": h, "type": "seen", "gw": gw, "adverts": n} for (gw, h), n in hours.items()]
    items += [{"t": h, "type": "meter", "energy_wh": round(e, 1)} for h, e in meter.items()]
    alerts = db.execute("SELECT id, cause, severity, state, opened_at FROM watch_alerts WHERE "
                        "subject IN (?, ?) ORDER BY opened_at DESC LIMIT 20",
                        (f"person:{pid}", f"household:{who['household']}")).fetchall()
    return jsonify({
        "person": who,
        "last_seen": None if last is None else {
            "device": last["id"], "gw": last["gw"], "lat": last["lat"], "lon": last["lon"],
            "place": last["name"], "t": last["latest_end"]},
        "timeline": sorted(items, key=lambda x: x["t"], reverse=True)[:200],
        "alerts": [dict(zip(a.keys(), tuple(a), strict=True)) for a in alerts]})


@bp.get("/api/v1/watch/push")
@require("admin", "responder", "family")
def push_key() -> Any:
    from .config import WatchConfig
    from .worker import vapid_path

    path = vapid_path(WatchConfig(vapid_key_file=current_app.config.get("WATCH_VAPID_KEY_FILE")),
                      current_app.config["DATABASE"])
    return jsonify({"key": vapid_public(path)})


@bp.post("/api/v1/watch/push")
@require("admin", "responder", "family")
def push_subscribe() -> Any:
    sub = request.get_json(silent=True)
    ok = (isinstance(sub, dict) and isinstance(sub.get("endpoint"), str)
          and sub["endpoint"].startswith("https://") and isinstance(sub.get("keys"), dict)
          and all(isinstance(sub["keys"].get(k), str) and len(sub["keys"][k]) < 200
                  for k in ("p256dh", "auth")))
    if not ok or not isinstance(sub, dict):
        return jsonify({"error": "bad_request", "message": "send the browser's PushSubscription"
                        " (https endpoint, keys.p256dh, keys.auth)"}), 400
    db = get_write_db()
    rids = responder_ids_for_user(db, g.principal.name)
    if not rids:
        return jsonify({"error": "not_found", "message": "you are not a responder"}), 404
    for rid in rids:
        set_push_subscription(db, _keys(), rid, {"endpoint": sub["endpoint"],
                                                 "keys": {k: sub["keys"][k]
                                                          for k in ("p256dh", "auth")}})
    return jsonify({"subscribed": len(rids)})

