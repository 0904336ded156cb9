"""NGSI-LD export of live heat readings as FIWARE Smart Data Models (WeatherObserved, Device).

A GET endpoint for a town's data platform to read, and `machimori collector ngsi-push` to upsert
into a context broker (Orion-LD, Scorpio, Stellio). Entities are in the NGSI-LD normalized
format; docs/ngsi-ld.md lists every attribute. Only heat sensors are exported: presence tags and
meters describe people and households (APPI), so they never leave the collector this way.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, request

from machimori import logs
from machimori.contract.sensitivity import may_leave

from .cli import add_db_argument

log = logging.getLogger("machimori.collector.ngsi")

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
# Smart Data Models' context defines temperature, relativeHumidity, refDevice, ...; wbgt and
# wbgtLevel are ours and expand under the core context's default vocabulary.
SDM_CONTEXT = "https://smartdatamodels.org/context.jsonld"
CONTEXT = [SDM_CONTEXT, CORE_CONTEXT]
LD_JSON = "application/ld+json"
TYPES = ("WeatherObserved", "Device")
UPSERT_PATH = "/ngsi-ld/v1/entityOperations/upsert"
BATCH_MAX = 100  # entities per upsert request: brokers cap the body size

# The one query: the latest state per heat sensor (the `devices` table, kept by the store).
LATEST_SQL = ("SELECT id, kind, gw, lat, lon, name, height_m, latest_end, latest, wbgt_level "
              "FROM devices WHERE kind = 'heat' ORDER BY id")


def latest_rows(db: Any) -> list[dict[str, Any]]:
    """Rows of LATEST_SQL as plain dicts (any DB-API connection with sqlite3-style `?`)."""
    cols = ("id", "kind", "gw", "lat", "lon", "name", "height_m", "latest_end", "latest",
            "wbgt_level")
    rows = [dict(zip(cols, tuple(r), strict=True)) for r in db.execute(LATEST_SQL).fetchall()]
    # The sensitivity table has the last word: only kinds that may leave to NGSI-LD do.
    return [r for r in rows if may_leave(r["kind"], "ngsi")]


def entity_id(etype: str, device: str) -> str:
    return f"urn:ngsi-ld:{etype}:machimori:{device}"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _prop(value: Any, observed: str | None = None, unit: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"type": "Property", "value": value}
    if unit:
        p["unitCode"] = unit  # UN/CEFACT common codes: CEL °C, LUX lx, C62 "one"
    if observed:
        p["observedAt"] = observed
    return p


def _common(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if row["lat"] is not None and row["lon"] is not None:
        # GeoJSON order: longitude first.
        out["location"] = {"type": "GeoProperty",
                           "value": {"type": "Point", "coordinates": [row["lon"], row["lat"]]}}
    if row["name"]:
        out["name"] = _prop(row["name"])
    return out


def weather_observed(row: Mapping[str, Any]) -> dict[str, Any]:
    """One heat sensor's latest window as a WeatherObserved entity (without @context)."""
    latest = json.loads(row["latest"]) if isinstance(row["latest"], str) else row["latest"]
    at = _iso(row["latest_end"])
    e: dict[str, Any] = {
        "id": entity_id("WeatherObserved", row["id"]), "type": "WeatherObserved",
        "dateObserved": _prop({"@type": "DateTime", "@value": at}),
        "refDevice": {"type": "Relationship", "object": entity_id("Device", row["id"])},
        "dataProvider": _prop("machimori"),
        **_common(row),
    }
    # The window's last reading, as /api/v1/sensors shows; WBGT is the window's mean, the value
    # its level is computed from.
    if "air_c" in latest:
        e["temperature"] = _prop(latest["air_c"]["last"], at, "CEL")
    if "humidity" in latest:
        # Smart Data Models: relative humidity as a fraction 0..1, not percent.
        e["relativeHumidity"] = _prop(round(latest["humidity"]["last"] / 100, 4), at, "C62")
    if "illuminance" in latest:
        e["illuminance"] = _prop(latest["illuminance"]["last"], at, "LUX")
    if "wbgt_c" in latest:
        e["wbgt"] = _prop(latest["wbgt_c"]["mean"], at, "CEL")
    if row["wbgt_level"] is not None:
        e["wbgtLevel"] = _prop(int(row["wbgt_level"]), at)
    if "surface_c" in latest:
        e["surfaceTemperature"] = _prop(latest["surface_c"]["last"], at, "CEL")
    return e


def device(row: Mapping[str, Any]) -> dict[str, Any]:
    """One heat sensor as a Device entity (without @context)."""
    latest = json.loads(row["latest"]) if isinstance(row["latest"], str) else row["latest"]
    props = [p for q, p in (("air_c", "temperature"), ("humidity", "humidity"),
                            ("illuminance", "light")) if q in latest]
    e: dict[str, Any] = {
        "id": entity_id("Device", row["id"]), "type": "Device",
        "category": _prop(["sensor"]),
        "controlledProperty": _prop(props),
        "dateLastValueReported": _prop({"@type": "DateTime", "@value": _iso(row["latest_end"])}),
        "source": _prop(row["gw"]),  # the gateway that hears it
        **_common(row),
    }
    if "battery" in latest:
        # Smart Data Models: 1.0 full, 0.0 empty.
        e["batteryLevel"] = _prop(round(latest["battery"]["last"] / 100, 4), unit="C62")
    return e


BUILDERS = {"WeatherObserved": weather_observed, "Device": device}


def entities(rows: Iterable[Mapping[str, Any]], types: Iterable[str] = TYPES,
             context: bool = True) -> list[dict[str, Any]]:
    """Every entity of the given types, WeatherObserved and Device of a sensor side by side."""
    wanted = [t for t in TYPES if t in set(types)]
    out = []
    for row in rows:
        for t in wanted:
            e = BUILDERS[t](row)
            out.append({"@context": CONTEXT, **e} if context else e)
    return out


# ---- the GET endpoint

bp = Blueprint("ngsi", __name__, url_prefix="/api/v1/ngsi-ld")


@bp.get("/entities")
def list_entities() -> Any:
    """NGSI-LD query (`type` is a comma-separated list, as in the NGSI-LD API).

    With `Accept: application/ld+json` each entity carries its @context; otherwise the body is
    plain JSON and the context comes in a Link header, as NGSI-LD brokers answer.
    """
    from .app import get_db

    raw = request.args.get("type", ",".join(TYPES))
    types = [t.strip() for t in raw.split(",") if t.strip()]
    if not types:
        return current_app.response_class(
            json.dumps({"type": "https://uri.etsi.org/ngsi-ld/errors/BadRequestData",
                        "title": "type must name at least one entity type"}),
            status=400, mimetype="application/json")
    ld = LD_JSON in request.headers.get("Accept", "")
    body = entities(latest_rows(get_db()), types, context=ld)
    resp = current_app.response_class(json.dumps(body, ensure_ascii=False),
                                      mimetype=LD_JSON if ld else "application/json")
    if not ld:
        resp.headers["Link"] = (f'<{SDM_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; '
                                'type="application/ld+json"')
    return resp


# ---- pushing to a context broker


class Pusher:
    """Upserts the entities whose window moved since the last successful push."""

    def __init__(self, db_url: str, broker: str, tenant: str | None = None,
                 timeout: float = 10.0):
        if not broker.startswith(("http://", "https://")):
            raise ValueError(f"--url {broker!r}: expected the broker's base URL, "
                             "e.g. http://orion:1026")
        self.db_url = db_url
        self.url = broker.rstrip("/") + UPSERT_PATH + "?options=update"
        self.tenant = tenant
        self.timeout = timeout
        self.pushed: dict[str, float] = {}  # device -> latest_end the broker has

    def push_once(self) -> int:
        """One round; returns the number of entities the broker accepted. Raises OSError."""
        from .store import connect

        db = connect(self.db_url, readonly=True)
        try:
            rows = latest_rows(db)
        finally:
            db.close()
        fresh = [r for r in rows if self.pushed.get(r["id"]) != r["latest_end"]]
        done = 0
        for i in range(0, len(fresh), BATCH_MAX // len(TYPES)):
            chunk = fresh[i:i + BATCH_MAX // len(TYPES)]
            failed = self._post(entities(chunk))
            for r in chunk:
                # A sensor whose entities the broker refused is sent again next round.
                if not failed & {entity_id(t, r["id"]) for t in TYPES}:
                    self.pushed[r["id"]] = r["latest_end"]
                    done += len(TYPES)
        return done

    def _post(self, body: list[dict[str, Any]]) -> set[str]:
        """POST one batch; the ids the broker reported as failed (207)."""
        headers = {"Content-Type": LD_JSON, "Accept": "application/json"}
        if self.tenant:
            headers["NGSILD-Tenant"] = self.tenant
        req = urllib.request.Request(self.url, data=json.dumps(body, ensure_ascii=False).encode(),
                                     headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise OSError(f"upsert refused: HTTP {exc.code} {detail}") from None
        if status == 207:  # multi-status: {"success": [...ids], "errors": [{"entityId", ...}]}
            errors = json.loads(text).get("errors", [])
            for err in errors:
                log.warning("broker refused %s: %s", err.get("entityId"), err.get("error"))
            return {err.get("entityId") for err in errors}
        return set()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ngsi-push", help="upsert live heat readings into an NGSI-LD broker",
                       description="Every INTERVAL seconds, upsert WeatherObserved and Device "
                                   "entities of the sensors with a new window into an NGSI-LD "
                                   "context broker (docs/ngsi-ld.md).")
    add_db_argument(p)
    p.add_argument("--url", required=True, help="the broker's base URL, e.g. http://orion:1026")
    p.add_argument("--interval", type=float, default=60.0,
                   help="seconds between rounds (default 60)")
    p.add_argument("--tenant", default=None, help="NGSILD-Tenant header (default none)")
    p.add_argument("--once", action="store_true", help="push one round and exit")
    logs.add_arguments(p)
    p.set_defaults(func=_cmd_push)


def _cmd_push(args: argparse.Namespace) -> int:
    import signal

    logs.setup(args.log_level, args.log_format)
    if args.interval <= 0:
        log.error("--interval must be > 0 seconds")
        return 2
    try:
        pusher = Pusher(args.db, args.url, args.tenant)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while True:
        t0 = time.monotonic()
        try:
            n = pusher.push_once()
            log.info("upserted %d entities", n)
        except OSError as exc:
            # The broker is away: the same entities are due next round.
            log.warning("push failed: %s", exc)
            if args.once:
                return 1
        if args.once or stop.wait(max(0.0, args.interval - (time.monotonic() - t0))):
            return 0
