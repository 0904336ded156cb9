"""OwnTracks reports from residents' phones and GPS terminals: the one parser for HTTP and MQTT.

The apps send JSON objects told apart by `_type` (owntracks.org booklet, "JSON"). The watch uses
`location`, `transition` and `lwt`; other types (card, waypoint, status, steps, ...) are valid
OwnTracks but carry nothing for the watch and are ignored, not refused. Everything else about a
report is checked here, so the collector never stores a value it has not validated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

TOPIC_PREFIX = "owntracks"
# OwnTracks user and device names end up in topics, tables and pages: keep them plain.
NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MAX_BYTES = 16_384  # a location report is a few hundred bytes; cards with photos are ignored
USED_TYPES = ("location", "transition", "lwt")
OTHER_TYPES = ("beacon", "card", "cmd", "configuration", "encrypted", "request", "status",
               "steps", "waypoint", "waypoints")
TRIGGERS = {"p", "c", "C", "b", "r", "u", "t", "v", "l"}
# tst must be a plausible Unix time: after 2000-01-01 and before 2100-01-01.
TST_MIN, TST_MAX = 946_684_800, 4_102_444_800


class OwnTracksError(ValueError):
    """A report that breaks the format; the message names the field."""


@dataclass(frozen=True)
class Report:
    type: str  # location | transition | lwt
    tst: float
    lat: float | None = None
    lon: float | None = None
    acc: float | None = None  # metres
    batt: int | None = None  # percent
    event: str | None = None  # transition: enter | leave
    region: str | None = None  # transition: the region's description
    trigger: str | None = None
    tid: str | None = None


def subscriptions(shared_group: str | None = None) -> list[str]:
    """Topics the collector subscribes to: locations/lwt and transitions."""
    topics = [f"{TOPIC_PREFIX}/+/+", f"{TOPIC_PREFIX}/+/+/event"]
    return [f"$share/{shared_group}/{t}" for t in topics] if shared_group else topics


def parse_topic(topic: str) -> tuple[str, str]:
    """(user, device) of `owntracks/<user>/<device>[/event]`."""
    parts = topic.split("/")
    if (parts[0] != TOPIC_PREFIX or len(parts) not in (3, 4)
            or (len(parts) == 4 and parts[3] != "event")):
        raise OwnTracksError(f"topic {topic[:100]!r} is not owntracks/<user>/<device>[/event]")
    return check_names(parts[1], parts[2])


def check_names(user: str, device: str) -> tuple[str, str]:
    for what, value in (("user", user), ("device", device)):
        if not NAME_RE.match(value or ""):
            raise OwnTracksError(f"{what} must be 1–64 letters, digits or _ . @ -")
    return user, device


def _number(p: dict[str, Any], key: str, lo: float, hi: float, required: bool = False
            ) -> float | None:
    v = p.get(key)
    if v is None:
        if required:
            raise OwnTracksError(f"{key} is required")
        return None
    # OwnTracks sends numbers; some terminals send numeric strings (e.g. "acc": "12").
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise OwnTracksError(f"{key} must be a number") from None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise OwnTracksError(f"{key} must be a number")
    if not lo <= v <= hi:
        raise OwnTracksError(f"{key} must be between {lo:g} and {hi:g}")
    return float(v)


def _text(p: dict[str, Any], key: str, limit: int) -> str | None:
    v = p.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > limit or any(ord(c) < 32 for c in v):
        raise OwnTracksError(f"{key} must be text of at most {limit} characters")
    return v


def parse(raw: bytes) -> Report | None:
    """The report in `raw`, or None for an empty payload or a type the watch does not use."""
    if not raw:
        return None  # the apps send an empty payload when a friend is deleted
    if len(raw) > MAX_BYTES:
        raise OwnTracksError(f"report larger than {MAX_BYTES} bytes")
    try:
        p = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise OwnTracksError("not JSON") from None
    if not isinstance(p, dict):
        raise OwnTracksError("a report is a JSON object")
    kind = p.get("_type")
    if not isinstance(kind, str):
        raise OwnTracksError("_type is required")
    if kind in OTHER_TYPES:
        return None
    if kind not in USED_TYPES:
        raise OwnTracksError(f"unknown _type {kind[:32]!r}")
    tst = _number(p, "tst", TST_MIN, TST_MAX, required=True)
    assert tst is not None
    if kind == "lwt":
        return Report("lwt", tst)
    lat = _number(p, "lat", -90, 90, required=True)
    lon = _number(p, "lon", -180, 180, required=True)
    acc = _number(p, "acc", 0, 1_000_000)
    batt = _number(p, "batt", 0, 100)
    trigger = _text(p, "t", 1)
    if trigger is not None and trigger not in TRIGGERS:
        raise OwnTracksError("t is not an OwnTracks trigger")
    tid = _text(p, "tid", 8)
    if kind == "location":
        return Report("location", tst, lat, lon, acc, None if batt is None else int(batt),
                      trigger=trigger, tid=tid)
    event = p.get("event")
    if event not in ("enter", "leave"):
        raise OwnTracksError("event must be enter or leave")
    region = _text(p, "desc", 100)
    return Report("transition", tst, lat, lon, acc, event=event, region=region, trigger=trigger,
                  tid=tid)
