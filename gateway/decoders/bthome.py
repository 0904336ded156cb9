"""BTHome v2 decoder: service-data bytes -> frozen reading, driven by the contract's object table.

Behaves as the reference receiver bthome-ble 3.25 does, refusals included: the MAC may ride in the
payload (info bit 1); a truncated last object, or a text that is not UTF-8, costs that object only
(the reading says so in `dropped`); a plaintext advert from a device that has a bindkey is refused
as a downgrade. Pure: no clock, no per-device state. Replay protection and packet-id de-duplication need the
device's history and live in `gateway.decoders.tracker`.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from machimori.contract.bthome import (
    BUTTON_EVENTS,
    COMMAND_EVENTS,
    DEVINFO_ENCRYPTED,
    DEVINFO_MAC,
    DEVINFO_TRIGGER,
    DIMMER_EVENTS,
    OBJECTS,
)
from machimori.contract.bthome import nonce as contract_nonce

from .errors import DecodeError

__all__ = ["UNITS", "BTHomeReading", "DecodeError", "decode", "payload_mac"]

Value = float | bool | int | str

# Units by reading name, for printing (`gw decode`) and for the summaries.
UNITS: dict[str, str] = {s.name: s.unit for s in OBJECTS.values() if s.unit}
UNITS["dimmer_steps"] = ""

_SCALED = 0
_BINARY = 1
_OTHER = 2


def _decimals(factor: float) -> int:
    # The reference receiver rounds to the factor's decimal places; so do we, so that the same
    # bytes give the same numbers (0.01 -> 2, 0.35 -> 1, 1 -> 0).
    return -int(f"{factor:e}".split("e")[-1])


def _scale(factor: float) -> tuple[float, int]:
    """(divisor, places): a decimal factor 10**-k becomes a division by 10**k, which gives the
    same double as the reference's round(raw * factor, k) and is several times cheaper."""
    places = _decimals(factor)
    if factor == 1:
        return 1.0, 0
    if abs(factor * 10**places - 1) < 1e-12:
        return float(10**places), 0
    return 0.0, places  # e.g. 0.35: round(raw * factor, places) as the reference does


# Flat lookup table indexed by object id: the hot loop does one list index per object.
# Row: (kind, name, length, signed, factor, divisor, places, struct format or None).
_FMT = {(1, False): "<B", (1, True): "<b", (2, False): "<H", (2, True): "<h",
        (4, False): "<I", (4, True): "<i"}
_TABLE: list[tuple | None] = [None] * 256
for _s in OBJECTS.values():
    _k = _SCALED if _s.kind == "sensor" else _BINARY if _s.kind == "binary" else _OTHER
    _div, _pl = _scale(_s.factor)
    _st = _FMT.get((_s.length, _s.signed))
    _TABLE[_s.object_id] = (_k, _s.name, _s.length, _s.signed, _s.factor, _div, _pl,
                            struct.Struct(_st).unpack_from if _st else None)


class BTHomeReading(NamedTuple):
    # Immutable like a frozen dataclass, but built several times faster (hot path).
    encrypted: bool
    trigger: bool
    packet_id: int | None
    values: tuple[tuple[str, Value], ...]  # (name, value) in advert order; names may repeat
    counter: int | None = None  # encryption counter (encrypted adverts only)
    unknown_object: int | None = None  # first id we do not know: parsing stopped there (spec)
    mac: str | None = None  # the device's MAC when the advert carries it (info bit 1)
    dropped: str | None = None  # "truncated" (tail cut off) or "bad_text": objects not decoded


    def all(self, name: str) -> list[Value]:
        return [v for n, v in self.values if n == name]


@lru_cache(maxsize=256)
def _cipher(bindkey: bytes) -> AESCCM:
    return AESCCM(bindkey, tag_length=4)


def _special(oid: int, name: str, raw: bytes, out: list[tuple[str, Value]]) -> bool:
    """Append the object's value(s); False when the value cannot be read (text not UTF-8), which
    bthome-ble skips while keeping the other objects."""
    if oid == 0x3A:
        out.append((name, BUTTON_EVENTS.get(raw[0], f"unknown_{raw[0]}")))
    elif oid == 0x3C:
        out.append((name, DIMMER_EVENTS.get(raw[0], f"unknown_{raw[0]}")))
        out.append(("dimmer_steps", raw[1]))
    elif oid == 0x3B:
        out.append((name, COMMAND_EVENTS.get(raw[0], f"unknown_{raw[0]}")))
        if len(raw) > 1:
            out.append(("command_args", raw[1:].hex()))
    elif oid == 0x50:
        out.append((name, int.from_bytes(raw, "little")))
    elif oid == 0x53:
        try:
            out.append((name, raw.decode("utf-8")))
        except UnicodeDecodeError:
            return False
    elif oid == 0x54:
        out.append((name, raw.hex()))
    elif oid == 0xF0:
        out.append((name, int.from_bytes(raw, "little")))
    else:  # 0xF1 / 0xF2: firmware version, least significant part first
        out.append((name, ".".join(str(b) for b in reversed(raw))))
    return True


class _Parsed(NamedTuple):
    values: list[tuple[str, Value]]
    packet_id: int | None
    unknown: int | None
    dropped: str | None


def _objects(data: bytes, i: int, n: int) -> _Parsed:
    values: list[tuple[str, Value]] = []
    packet_id = None
    dropped = None
    table = _TABLE
    frombytes = int.from_bytes
    while i < n:
        oid = data[i]
        row = table[oid]
        if row is None:
            # The spec: a receiver stops at the first id it does not know, keeping what it has,
            # so that a newer sensor still works with an older gateway.
            return _Parsed(values, packet_id, oid, dropped)
        kind, name, length, signed, factor, div, places, unpack = row
        i += 1
        if length == 0:  # length-prefixed text / raw / command
            if i >= n:
                return _Parsed(values, packet_id, None, "truncated")  # no length byte
            length = (data[i] & 0x1F) + 1 if oid == 0x3B else data[i]
            i += 1
        end = i + length
        if end > n:
            # a cut-off last object: keep the objects before it, as bthome-ble does
            return _Parsed(values, packet_id, None, "truncated")
        if kind == _SCALED:
            raw = unpack(data, i)[0] if unpack else frombytes(data[i:end], "little",
                                                               signed=signed)
            if oid == 0:
                packet_id = raw
            elif div:
                values.append((name, raw / div))
            else:
                values.append((name, round(raw * factor, places)))
        elif kind == _BINARY:
            values.append((name, data[i] != 0))
        elif length and not _special(oid, name, data[i:end], values):
            dropped = "bad_text"
        i = end
    return _Parsed(values, packet_id, None, dropped)


def payload_mac(data: bytes) -> str | None:
    """The MAC an advert carries in its payload (info bit 1), as printed; None if it has none."""
    if len(data) < 7 or not data[0] & DEVINFO_MAC:
        return None
    return ":".join(f"{b:02X}" for b in reversed(data[1:7]))


def _reading(p: _Parsed, encrypted: bool, trigger: bool, counter: int | None,
             mac: str | None) -> BTHomeReading:
    if p.dropped is not None and not p.values and p.packet_id is None:
        # nothing readable at all: bthome-ble makes no update either
        raise DecodeError(p.dropped, "no object could be decoded")
    return BTHomeReading(encrypted, trigger, p.packet_id, tuple(p.values), counter, p.unknown,
                         mac, p.dropped)


def decode(data: bytes, bindkey: bytes | None = None, mac: str | None = None) -> BTHomeReading:
    """Service data after the 0xFCD2 UUID -> reading. Encrypted adverts need bindkey and mac (the
    advertiser's address; a MAC carried in the payload takes its place). A device that has a
    bindkey must encrypt: its plaintext adverts are refused ("downgrade")."""
    if not data:
        raise DecodeError("truncated", "no device-information byte")
    info = data[0]
    encrypted = bool(info & DEVINFO_ENCRYPTED)
    if bindkey is not None and not encrypted:
        raise DecodeError("downgrade", "plaintext advert from a device enrolled with a bindkey")
    version = info >> 5
    if version != 2:
        raise DecodeError("version", f"BTHome version {version} is not 2")
    trigger = bool(info & DEVINFO_TRIGGER)
    start = 1
    carried = None
    if info & DEVINFO_MAC:
        carried = payload_mac(data)
        if carried is None:
            raise DecodeError("truncated", "MAC flag set but fewer than 6 MAC bytes")
        start = 7
    if not encrypted:
        return _reading(_objects(data, start, len(data)), False, trigger, None, carried)
    if bindkey is None:
        raise DecodeError("no_bindkey", "encrypted advert from a device without a bindkey")
    if len(bindkey) != 16:
        raise DecodeError("bad_key", f"a BTHome bindkey is 16 bytes, not {len(bindkey)}")
    nonce_mac = carried or mac
    if nonce_mac is None:
        raise DecodeError("no_mac", "decrypting needs the device's MAC address (the nonce)")
    if len(data) < start + 2 + 4 + 4:
        raise DecodeError("truncated", "encrypted advert shorter than info+data+counter+MIC")
    ctr = data[-8:-4]
    try:
        plain = _cipher(bytes(bindkey)).decrypt(contract_nonce(nonce_mac, info, bytes(ctr)),
                                                bytes(data[start:-8] + data[-4:]), None)
    except InvalidTag:
        raise DecodeError("bad_mic", "MIC mismatch: wrong bindkey, wrong MAC or forged") from None
    except ValueError as exc:
        raise DecodeError("bad_key", str(exc)) from None
    return _reading(_objects(plain, 0, len(plain)), True, trigger, int.from_bytes(ctr, "little"),
                    carried)
