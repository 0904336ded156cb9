"""What a map shows of a heat sensor: its reading from window statistics, and its freshness;
and the fast JSON response the map's endpoints answer with (1,000 sensors per request)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app

READING_FIELDS = ("air_c", "humidity", "surface_c", "globe_c", "illuminance", "battery")


def reading(values: dict[str, Any]) -> dict[str, float | None]:
    """The fields a map shows, from a window's (or an hour's) statistics: the last value of
    each quantity, and the window's mean WBGT (the value its level was decided on)."""
    out: dict[str, float | None] = {f: values[f]["last"] if f in values else None
                                    for f in READING_FIELDS}
    out["wbgt_c"] = values["wbgt_c"]["mean"] if "wbgt_c" in values else None
    return out


def freshness(updated: float | None, reference: float, stale_after_s: float
              ) -> tuple[float | None, bool]:
    """(age in seconds, stale?) of a reading against a reference moment.

    The reference is the town's newest reading (or the slider's moment), not the wall clock:
    one silent sensor greys while the others report, and a replayed or simulated day is not
    all grey. A town whose whole feed stopped shows it in the page's "updated" time.
    """
    if updated is None:
        return None, True
    age = max(0.0, reference - updated)
    return round(age, 1), age > stale_after_s


def json_response(body: Any) -> Response:
    """A JSON response serialised by orjson: several times faster than the standard library on
    a thousand sensors (bench/heat_api.py)."""
    return current_app.response_class(orjson.dumps(body), mimetype="application/json")
