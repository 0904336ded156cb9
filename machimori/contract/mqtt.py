"""MQTT topic tree and payload validation (docs/protocol.md describes both).

Topics:
    machimori/v1/gw/<gw>/status            retained, QoS 1 (also the Last Will, state "offline")
    machimori/v1/gw/<gw>/summary/<kind>    QoS 1, one per device and window
    machimori/v1/gw/<gw>/event/<kind>      QoS 1
    machimori/v1/gw/<gw>/selftest          QoS 1, `gw selftest` only; the collector ignores it
    machimori/v1/gw/<gw>/cmd/<device>      QoS 1, collector -> gateway (docs/actuators.md)
    machimori/v1/gw/<gw>/ack               QoS 1, gateway -> collector, one per command
    machimori/v1/gw/<gw>/actuator/<device> retained, QoS 1: the actuator's own state line

Payload schemas are versioned (`"schema": "machimori/summary/2"`): the gateway sends the newest
(SCHEMA_IDS), the collector accepts every version in SCHEMAS.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson

PREFIX = "machimori/v1/gw"
QOS = 1
GW_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")

EPOCH_RE = re.compile(r"^[0-9a-f]{16}$")

# message -> {version: schema file}. Version 2 puts the stream epoch into every id; version 1
# (ids "<gw>:<seq>") is still accepted from gateways not yet upgraded.
SCHEMAS = {
    "summary": {1: "summary-1.json", 2: "summary-2.json"},
    "event": {1: "event-1.json", 2: "event-2.json"},
    "status": {1: "status-1.json", 2: "status-2.json"},
    "command": {1: "command-1.json"},
    "ack": {1: "ack-1.json"},
    "actuator_state": {1: "actuator-state-1.json"},
}
VERSION = 2  # what gateways send of summaries, events and status
_NAMES = {"actuator_state": "actuator-state"}  # the schema id's spelling, where it differs


def _sid(message: str, version: int) -> str:
    return f"machimori/{_NAMES.get(message, message)}/{version}"


SCHEMA_IDS = {m: _sid(m, max(vs)) for m, vs in SCHEMAS.items()}  # the newest of each
_VERSIONS = {m: {_sid(m, v): v for v in vs} for m, vs in SCHEMAS.items()}
# Event kinds a full outbox never evicts: a person asked for help, or fell.
NEVER_EVICTED = frozenset({"sos", "fall"})


class ContractError(ValueError):
    """A payload or topic that does not follow the protocol; the message says why."""


def status_topic(gw: str) -> str:
    return f"{PREFIX}/{gw}/status"


def summary_topic(gw: str, kind: str) -> str:
    return f"{PREFIX}/{gw}/summary/{kind}"


def event_topic(gw: str, kind: str) -> str:
    return f"{PREFIX}/{gw}/event/{kind}"


def command_topic(gw: str, device: str) -> str:
    return f"{PREFIX}/{gw}/cmd/{device}"


def ack_topic(gw: str) -> str:
    return f"{PREFIX}/{gw}/ack"


def actuator_state_topic(gw: str, device: str) -> str:
    return f"{PREFIX}/{gw}/actuator/{device}"


def subscription(shared_group: str | None = None) -> str:
    """The topic filter a collector subscribes to (optionally as an MQTT 5 shared subscription)."""
    base = f"{PREFIX}/+/#"
    return f"$share/{shared_group}/{base}" if shared_group else base


def selftest_topic(gw: str) -> str:
    return f"{PREFIX}/{gw}/selftest"


def new_epoch() -> str:
    """A random stream epoch (64 bits): made once with each outbox, never reused."""
    return os.urandom(8).hex()


def event_id(gw: str, seq: int, epoch: str | None = None) -> str:
    """Unique for ever, the idempotency key: gateway id, stream epoch, sequence number.

    Without an epoch it is the version-1 id "<gw>:<seq>", which collides with its own past when
    a gateway loses its data dir; with one, a reinstalled gateway starts a new stream.
    """
    return f"{gw}:{seq}" if epoch is None else f"{gw}:{epoch}:{seq}"


def message_body(message: str, gw: str, epoch: str, seq: int, body: dict[str, Any]
                 ) -> dict[str, Any]:
    """A complete summary or event of the current version from its kind-specific fields."""
    return {"schema": SCHEMA_IDS[message], "id": event_id(gw, seq, epoch), "gw": gw,
            "epoch": epoch, "seq": seq, **body}


@dataclass(frozen=True)
class TopicInfo:
    gw: str
    message: str  # "status" | "summary" | "event" | "command" | "ack" | "actuator_state"
    kind: str | None  # the summary/event kind; for a command, the device


def parse_topic(topic: str) -> TopicInfo:
    parts = topic.split("/")
    if len(parts) < 5 or "/".join(parts[:3]) != PREFIX:
        raise ContractError(f"topic {topic!r} is not under {PREFIX}/")
    gw, message = parts[3], parts[4]
    if not GW_ID_RE.match(gw):
        raise ContractError(f"topic {topic!r}: gateway id {gw!r} is invalid")
    if message in ("status", "selftest") and len(parts) == 5:
        return TopicInfo(gw, message, None)
    if message in ("summary", "event") and len(parts) == 6 and parts[5]:
        return TopicInfo(gw, message, parts[5])
    if message == "ack" and len(parts) == 5:
        return TopicInfo(gw, "ack", None)
    if message == "cmd" and len(parts) == 6 and parts[5]:
        return TopicInfo(gw, "command", parts[5])
    if message == "actuator" and len(parts) == 6 and parts[5]:
        return TopicInfo(gw, "actuator_state", parts[5])
    raise ContractError(f"topic {topic!r}: expected status, summary/<kind> or event/<kind>")


@cache
def _validator(message: str, version: int) -> Any:
    # jsonschema-rs: a compiled validator ~5x faster than the pure-Python ones; ingest of
    # summaries spends more time validating than storing.
    return jsonschema_rs.Draft7Validator(schema_document(message, version))


def schema_document(message: str, version: int | None = None) -> dict[str, Any]:
    name = SCHEMAS[message][max(SCHEMAS[message]) if version is None else version]
    text = resources.files("machimori.contract").joinpath("schemas", name).read_text()
    return json.loads(text)


def _version(message: str, payload: Any) -> int:
    """The schema version a payload names ("machimori/<message>/<n>")."""
    if not isinstance(payload, dict):
        return max(SCHEMAS[message])  # let the schema say what is wrong with it
    sid = payload.get("schema")
    version = _VERSIONS[message].get(sid) if isinstance(sid, str) else None
    if version is not None:
        return version
    known = ", ".join(_sid(message, v) for v in SCHEMAS[message])
    raise ContractError(f"{message}: schema: {sid!r} is not one of {known}")


def validate(message: str, payload: Any) -> None:
    """Raise ContractError naming the first violation; return None when valid."""
    version = _version(message, payload)
    try:
        _validator(message, version).validate(payload)
    except jsonschema_rs.ValidationError as exc:
        where = ".".join(str(p) for p in exc.instance_path) or "payload"
        raise ContractError(f"{message}: {where}: {exc.message}") from None
    if message in ("summary", "event"):
        epoch = payload.get("epoch")
        if payload["id"] != event_id(payload["gw"], payload["seq"], epoch):
            form = "'<gw>:<seq>'" if epoch is None else "'<gw>:<epoch>:<seq>'"
            raise ContractError(f"{message}: id must be {form}")
    if message == "summary" and payload["end"] < payload["start"]:
        raise ContractError("summary: end is before start")


def decode_message(topic: str, raw: bytes) -> tuple[TopicInfo, dict[str, Any]]:
    """Topic + raw payload -> (topic info, validated payload). Raises ContractError."""
    info = parse_topic(topic)
    if info.message == "selftest":
        return info, {}  # a gateway's own round trip (`gw selftest`): nothing to store
    try:
        payload = orjson.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise ContractError(f"payload is not JSON: {exc}") from None
    validate(info.message, payload)
    if payload["gw"] != info.gw:
        raise ContractError(f"payload gw {payload['gw']!r} does not match topic gw {info.gw!r}")
    if info.message in ("command", "actuator_state"):
        if payload["device"] != info.kind:
            raise ContractError(f"command device {payload['device']!r} does not match the topic")
    elif info.kind is not None and payload["kind"] != info.kind:
        raise ContractError(f"payload kind {payload['kind']!r} does not match topic {info.kind!r}")
    return info, payload


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (what both sides put on the wire)."""
    return orjson.dumps(payload)
