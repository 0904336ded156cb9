"""The actuator's UART line protocol (docs/actuators.md) and its vocabularies.

Gateway -> device (a command):

    AC1,C,<id>,<action>,<hold_s>,<wind_dms>*<crc>\\r\\n

Device -> gateway (the acknowledgement of one command, and a periodic state line):

    AC1,A,<id>,<result>,<reason>,<on>*<crc>\\r\\n
    AC1,S,<seq>,<on>,<rh_centi>,<override>,<on_s>*<crc>\\r\\n

id: the command's id (1-24 of [A-Za-z0-9_-]); action: on | off; hold_s: seconds the relay
stays on at most for this command (the device caps it at its own max_on_s); wind_dms: the wind
speed the sender knows, in 0.1 m/s (the device refuses "on" above its wind_max_dms); result:
done | refused; reason: one of REASONS, "-" with done; on: 0 | 1; rh_centi: the device's own
humidity in 0.01 % (-1 when the sensor failed); override: 0 | 1 (the manual switch); on_s:
seconds the relay has been on (0 when off). crc: CRC-16/CCITT-FALSE of the bytes before '*', four
upper-case hex digits (the pulse bridge's checksum, machimori/contract/pulse.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .pulse import checked_fields
from .pulse import frame as _frame

PREFIX = "AC1"
MAX_LINE = 96
ACTIONS = ("on", "off")
RESULTS = ("done", "refused")
# Why a device refused a command (or a gateway could not deliver it): one word each.
REASONS = ("humidity", "wind", "schedule", "override", "rate", "sensor", "bad")
# Reasons a gateway adds when the device never answered or is not enrolled there.
GATEWAY_REASONS = ("no_answer", "unknown_device", "port", "expired")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,24}$")


class ActuatorLineError(ValueError):
    """A line that is not a valid actuator line; the message says why."""


@dataclass(frozen=True)
class Command:
    id: str
    action: str
    hold_s: int
    wind_dms: int


@dataclass(frozen=True)
class Ack:
    id: str
    result: str
    reason: str | None
    on: bool


@dataclass(frozen=True)
class State:
    seq: int
    on: bool
    rh_centi: int
    override: bool
    on_s: int


def encode_command(c: Command) -> bytes:
    if not ID_RE.match(c.id) or c.action not in ACTIONS:
        raise ActuatorLineError("command id or action invalid")
    return _frame(f"{PREFIX},C,{c.id},{c.action},{int(c.hold_s)},{int(c.wind_dms)}")


def encode_ack(a: Ack) -> bytes:
    return _frame(f"{PREFIX},A,{a.id},{a.result},{a.reason or '-'},{int(a.on)}")


def encode_state(s: State) -> bytes:
    return _frame(f"{PREFIX},S,{s.seq & 0xFFFFFFFF},{int(s.on)},{s.rh_centi},{int(s.override)},"
                  f"{s.on_s}")


def _fields(line: bytes) -> list[bytes]:
    fields = checked_fields(line, MAX_LINE, ActuatorLineError)
    if fields[0] != PREFIX.encode() or len(fields) < 2:
        raise ActuatorLineError("expected AC1,<type>,...")
    return fields


def _int(b: bytes, lo: int, hi: int, name: str) -> int:
    try:
        v = int(b)
    except ValueError:
        raise ActuatorLineError(f"{name} must be a decimal integer") from None
    if not lo <= v <= hi:
        raise ActuatorLineError(f"{name} out of range")
    return v


def _flag(b: bytes, name: str) -> bool:
    if b not in (b"0", b"1"):
        raise ActuatorLineError(f"{name} must be 0 or 1")
    return b == b"1"


def parse(line: bytes) -> Command | Ack | State:
    """Any actuator line, either direction; raises ActuatorLineError."""
    f = _fields(line)
    kind = f[1]
    try:
        text = [x.decode("ascii") for x in f]
    except UnicodeDecodeError:
        raise ActuatorLineError("not ASCII") from None
    if kind == b"C" and len(f) == 6:
        if not ID_RE.match(text[2]) or text[3] not in ACTIONS:
            raise ActuatorLineError("command id or action invalid")
        return Command(text[2], text[3], _int(f[4], 0, 86400, "hold_s"),
                       _int(f[5], 0, 10000, "wind_dms"))
    if kind == b"A" and len(f) == 6:
        if not ID_RE.match(text[2]) or text[3] not in RESULTS:
            raise ActuatorLineError("ack id or result invalid")
        reason = None if text[4] == "-" else text[4]
        if (reason is None) != (text[3] == "done") or (reason and reason not in REASONS):
            raise ActuatorLineError("ack reason invalid")
        return Ack(text[2], text[3], reason, _flag(f[5], "on"))
    if kind == b"S" and len(f) == 7:
        return State(_int(f[2], 0, 0xFFFFFFFF, "seq"), _flag(f[3], "on"),
                     _int(f[4], -1, 10000, "rh_centi"), _flag(f[5], "override"),
                     _int(f[6], 0, 10 ** 9, "on_s"))
    raise ActuatorLineError("expected AC1,C|A|S with the right number of fields")
