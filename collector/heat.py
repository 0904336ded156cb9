"""The heat pages: a live WBGT map of the town and the area's trend."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, make_response, render_template

from .i18n import TEXTS, lang

bp = Blueprint("heat", __name__)
# The Ministry of the Environment's WBGT colours, lowest level first.
LEVEL_COLOURS = ("#218cff", "#a0d2ff", "#faf500", "#ff9600", "#ff2800")
LEVEL_RANGES = ("< 21", "21–25", "25–28", "28–31", "≥ 31")


@bp.get("/heat")
def page() -> Any:
    lg = lang()
    t = TEXTS[lg]
    legend = list(zip(t["levels"], LEVEL_COLOURS, LEVEL_RANGES, strict=True))
    resp = make_response(render_template(
        "heat.html", t=t, lang=lg, legend=legend,
        colours=LEVEL_COLOURS, refresh_ms=current_app.config["LIVE_REFRESH_MS"]))
    resp.set_cookie("lang", lg, samesite="Lax")
    return resp
