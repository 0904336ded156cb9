"""The planners' heat page: a live WBGT map of the town (Leaflet, vendored), its history and
the area's trend. The level vocabulary comes from machimori/contract/wbgt.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, make_response, render_template

from machimori.contract.wbgt import LEVELS, NO_DATA_COLOUR

from .i18n import TEXTS, lang

bp = Blueprint("heat", __name__)


def map_config() -> dict[str, Any]:
    """What the map scripts need from the configuration (read by JS from data- attributes)."""
    c = current_app.config
    return {"tile_url": c["TILE_URL"], "refresh_ms": c["LIVE_REFRESH_MS"],
            "stale_after_s": c["STALE_AFTER_S"]}


@bp.get("/heat")
def page() -> Any:
    lg = lang()
    t = TEXTS[lg]
    resp = make_response(render_template(
        "heat.html", t=t, lang=lg, levels=LEVELS, cfg=map_config(),
        attribution=current_app.config["TILE_ATTRIBUTION"],
        attribution_url=current_app.config["TILE_ATTRIBUTION_URL"]))
    resp.set_cookie("lang", lg, samesite="Lax")
    return resp


@bp.get("/heat/levels.css")
def levels_css() -> Any:
    """The level colours as CSS classes (lv-0 … lv-4, lv-none): templates may not carry inline
    styles (Content-Security-Policy), so the legend's swatches take their colours from here."""
    rules = [f".lv-{lv.code} {{ background: {lv.colour}; color: {lv.text}; }}\n"
             f".lv-border-{lv.code} {{ border-left-color: {lv.colour}; }}" for lv in LEVELS]
    rules.append(f".lv-none {{ background: {NO_DATA_COLOUR}; color: #000000; }}")
    resp = current_app.response_class("\n".join(rules) + "\n", mimetype="text/css")
    resp.cache_control.max_age = 3600
    resp.cache_control.public = True
    return resp
