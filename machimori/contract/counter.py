"""Third-party people counters (camera or laser counters that report counts only, never images):
their MQTT topic and payload, one definition for the counters' integrators and the collector.

    machimori/v1/counter/<counter-id>/count   QoS 1, JSON `machimori/counter/1` (counter-1.json)

The collector stores each count as a `people` summary of the site `counter-<counter-id>`, so the
people-flow pages and the impact estimate use counters as sites beside the gateways.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson

PREFIX = "machimori/v1/counter"
SCHEMA_ID = "machimori/counter/1"
COUNTER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
SITE_PREFIX = "counter-"  # the site (the `gw` column) a counter's counts are stored under
MAX_PERIOD_S = 86400.0


class CounterError(ValueError):
    """A counter message that cannot be stored; the message says why (kept as a dead letter)."""


@dataclass(frozen=True)
class CounterCount:
    counter: str
    start: float
    end: float
    count_in: int
    count_out: int
    site: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def site_id(self) -> str:
        return SITE_PREFIX + self.counter


def count_topic(counter: str) -> str:
    return f"{PREFIX}/{counter}/count"


def subscription(shared_group: str | None = None) -> str:
    topic = f"{PREFIX}/+/count"
    return f"$share/{shared_group}/{topic}" if shared_group else topic


@cache
def _validator() -> Any:
    text = resources.files("machimori.contract").joinpath("schemas", "counter-1.json").read_text()
    return jsonschema_rs.Draft7Validator(json.loads(text))


def parse_topic(topic: str) -> str:
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != PREFIX or parts[4] != "count":
        raise CounterError(f"topic {topic[:120]!r} is not {PREFIX}/<counter-id>/count")
    if not COUNTER_ID_RE.match(parts[3]):
        raise CounterError(f"topic {topic[:120]!r}: counter id {parts[3][:40]!r} is invalid "
                           "(lower-case letters, digits and -, at most 24)")
    return parts[3]


def parse(topic: str, raw: bytes) -> CounterCount:
    """Topic + raw payload → a validated count. Raises CounterError naming the fault."""
    counter = parse_topic(topic)
    try:
        p = orjson.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CounterError(f"counter: payload is not JSON: {exc}") from None
    try:
        _validator().validate(p)
    except jsonschema_rs.ValidationError as exc:
        where = ".".join(str(x) for x in exc.instance_path) or "payload"
        raise CounterError(f"counter: {where}: {exc.message}") from None
    if p["counter"] != counter:
        raise CounterError(f"counter: payload counter {p['counter']!r} does not match the "
                           f"topic's {counter!r}")
    if not 0 < p["end"] - p["start"] <= MAX_PERIOD_S:
        raise CounterError("counter: end must be after start, by at most a day")
    return CounterCount(counter, float(p["start"]), float(p["end"]), int(p["in"]), int(p["out"]),
                        p.get("site"), p.get("lat"), p.get("lon"))


def encode(c: CounterCount) -> bytes:
    doc: dict[str, Any] = {"schema": SCHEMA_ID, "counter": c.counter, "start": c.start,
                           "end": c.end, "in": c.count_in, "out": c.count_out}
    for k in ("site", "lat", "lon"):
        if getattr(c, k) is not None:
            doc[k] = getattr(c, k)
    return orjson.dumps(doc)
