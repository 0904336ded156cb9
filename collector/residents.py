"""The residents' page: the heat level where you are, the nearest open cool spot and a shady
route there. Phone first, Japanese with English, installable (web manifest + service worker).

Cool spots and routes come from /api/v1/coolspots and /api/v1/route when the collector has
them; the page says so plainly when it does not (404).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from flask import Blueprint, current_app, jsonify, make_response, render_template, url_for

from .heat import map_config
from .i18n import TEXTS, lang

bp = Blueprint("residents", __name__)


@bp.get("/residents")
def page() -> Any:
    lg = lang()
    t = TEXTS[lg]
    resp = make_response(render_template(
        "residents.html", t=t, lang=lg, cfg=map_config(),
        attribution=current_app.config["TILE_ATTRIBUTION"],
        attribution_url=current_app.config["TILE_ATTRIBUTION_URL"]))
    resp.set_cookie("lang", lg, samesite="Lax")
    return resp


@bp.get("/residents/manifest.webmanifest")
def manifest() -> Any:
    t = TEXTS[lang()]
    icon = url_for("static", filename="residents-icon.svg")
    resp = jsonify({
        "name": "まちもり " + t["res_title"], "short_name": "まちもり",
        "lang": lang(), "start_url": url_for("residents.page"), "scope": url_for("residents.page"),
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#0f5c4d",
        "icons": [{"src": icon, "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
                  {"src": url_for("static", filename="residents-icon-192.png"),
                   "sizes": "192x192", "type": "image/png"},
                  {"src": url_for("static", filename="residents-icon-512.png"),
                   "sizes": "512x512", "type": "image/png"}]})
    resp.mimetype = "application/manifest+json"
    return resp


@bp.get("/residents-sw.js")
def service_worker() -> Any:
    """The service worker, served from the root so that it may control /residents (its scope
    is set to /residents at registration, so it never touches the other pages)."""
    text = resources.files("collector").joinpath("static", "residents-sw.js").read_text(
        encoding="utf-8")
    resp = current_app.response_class(text, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    return resp
