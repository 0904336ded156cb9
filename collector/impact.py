"""People-flow impact for planners: `/heat/impact` and `GET /api/v1/impact`.

The sites are gateways; their hourly count is the mean number of distinct devices per window
(`people` summaries, or `summaries_hourly` after retention), and their WBGT the mean of the
heat nodes behind the same gateway in that hour. machimori/impact.py does the estimate.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import numpy as np
from flask import Blueprint, jsonify, render_template, request

from machimori.contract.mqtt import GW_ID_RE
from machimori.impact import JST, Counts, ImpactError, estimate, parse_start

from .app import get_db
from .auth import require
from .db import Database
from .i18n import TEXTS, lang

bp = Blueprint("impact", __name__)
MAX_SPAN_S = 366 * 86400


def _sites(name: str) -> list[str]:
    sites = [s.strip() for v in request.args.getlist(name) for s in v.split(",") if s.strip()]
    for s in sites:
        if not GW_ID_RE.match(s):
            raise ImpactError(f"{name}: {s[:40]!r} is not a gateway id")
    return sites


def _hourly(db: Database, sites: list[str], since: float, until: float
            ) -> dict[tuple[str, float], list[float]]:
    """(site, hour) → [people mean, wbgt mean or nan], raw windows first, then hourly rows."""
    marks = ",".join("?" * len(sites))
    people = db.json_number('"values"', "unique_devices", "last")
    wbgt = db.json_number('"values"', "wbgt_c", "mean")
    acc: dict[tuple[str, float], list[float]] = {}
    rows = db.execute(
        f'SELECT kind, gw, "end", CASE WHEN kind = \'people\' THEN {people} ELSE {wbgt} END '
        f"FROM summaries WHERE kind IN ('people', 'heat') AND gw IN ({marks}) "
        f'AND "end" > ? AND "end" <= ?', (*sites, since, until)).fetchall()
    for kind, gw, end, value in rows:
        if value is None:
            continue
        cell = acc.setdefault((gw, (end - 1e-6) // 3600 * 3600), [0.0, 0.0, 0.0, 0.0])
        k = 0 if kind == "people" else 2
        cell[k] += value
        cell[k + 1] += 1
    hp = db.json_number('"values"', "unique_devices", "mean")
    hw = db.json_number('"values"', "wbgt_c", "mean")
    for kind, gw, hour, value in db.execute(
            f"SELECT kind, gw, hour, CASE WHEN kind = 'people' THEN {hp} ELSE {hw} END "
            f"FROM summaries_hourly WHERE kind IN ('people', 'heat') AND gw IN ({marks}) "
            "AND hour >= ? AND hour < ?", (*sites, since, until)).fetchall():
        if value is None:
            continue
        cell = acc.setdefault((gw, hour), [0.0, 0.0, 0.0, 0.0])
        k = 0 if kind == "people" else 2
        if cell[k + 1] == 0:  # raw windows of the hour win over a folded row
            cell[k] += value
            cell[k + 1] += 1
    return {key: [c[0] / c[1], c[2] / c[3] if c[3] else float("nan")]
            for key, c in acc.items() if c[1]}


def _compute(args: Any) -> dict[str, Any]:
    """The estimate for the request's parameters; raises ImpactError / ValueError."""
    treated, control = _sites("treated"), _sites("control")
    start = parse_start(args.get("start", ""))
    until = float(args.get("until") or time.time())
    since = float(args.get("since") or until - 120 * 86400)
    if not since < start < until or until - since > MAX_SPAN_S:
        raise ImpactError("need since < start < until, at most 366 days apart")
    cells = _hourly(get_db(), treated + control, since, until)
    keys = sorted(cells)
    wbgt = np.array([cells[k][1] for k in keys], dtype=float)
    counts = Counts(np.array([h for _, h in keys], dtype=float),
                    np.array([s for s, _ in keys], dtype=object),
                    np.array([cells[k][0] for k in keys], dtype=float),
                    wbgt if keys and not np.all(np.isnan(wbgt)) else None)
    res = estimate(counts, treated, control, start).to_json()
    # Daily means per group, for the chart.
    days: dict[str, list[float]] = {}
    for (site, hour), (value, _) in cells.items():
        day = datetime.fromtimestamp(hour, JST).date().isoformat()
        d = days.setdefault(day, [0.0, 0.0, 0.0, 0.0])
        k = 0 if site in treated else 2
        d[k] += value
        d[k + 1] += 1
    res["series"] = [{"day": day, "treated": round(d[0] / d[1], 2) if d[1] else None,
                      "control": round(d[2] / d[3], 2) if d[3] else None}
                     for day, d in sorted(days.items())]
    res["start_day"] = datetime.fromtimestamp(start, JST).date().isoformat()
    return res


@bp.get("/api/v1/impact")
@require("admin", "planner")
def api() -> Any:
    try:
        return jsonify(_compute(request.args))
    except (ImpactError, ValueError) as exc:
        return jsonify({"error": "bad_parameter", "message": str(exc)}), 400


@bp.get("/heat/impact")
@require("admin", "planner")
def page() -> Any:
    db = get_db()
    gws = [r[0] for r in db.execute("SELECT DISTINCT gw FROM summaries WHERE kind = 'people' "
                                    "UNION SELECT DISTINCT gw FROM summaries_hourly WHERE "
                                    "kind = 'people' ORDER BY 1").fetchall()]
    result = error = None
    status = 200
    if request.args.get("start"):
        try:
            result = _compute(request.args)
        except (ImpactError, ValueError) as exc:
            error, status = str(exc), 400
    chosen = {s: k for k in ("treated", "control") for v in request.args.getlist(k)
              for s in v.split(",")}
    return render_template("impact.html", t=TEXTS[lang()], lang=lang(), gateways=gws,
                           result=result, error=error, chosen=chosen,
                           start=request.args.get("start", "")), status
