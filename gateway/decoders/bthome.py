"""BTHome v2 decoder: service-data bytes -> frozen reading, driven by the contract's object table."""

from __future__ import annotations

from dataclasses import dataclass

from machimori.contract.bthome import DEVINFO_ENCRYPTED, OBJECTS


class DecodeError(ValueError):
    """Malformed or unsupported advert; `reason` is a short counter key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BTHomeReading:
    encrypted: bool
    trigger: bool
    packet_id: int | None
    values: tuple[tuple[str, float], ...]  # (name, value) in advert order; names may repeat

    def all(self, name: str) -> list[float]:
        return [v for n, v in self.values if n == name]


def decode(data: bytes) -> BTHomeReading:
    if len(data) < 1:
        raise DecodeError("truncated", "no device-information byte")
    info = data[0]
    version = info >> 5
    if version != 2:
        raise DecodeError("version", f"BTHome version {version} is not 2")
    if info & DEVINFO_ENCRYPTED:
        raise DecodeError("encrypted", "encrypted advert and no bindkey support here")
    values: list[tuple[str, float]] = []
    packet_id = None
    i = 1
    n = len(data)
    while i < n:
        oid = data[i]
        spec = OBJECTS.get(oid)
        if spec is None:
            raise DecodeError("unknown_object", f"object id 0x{oid:02x} at byte {i}")
        end = i + 1 + spec.length
        if end > n:
            raise DecodeError("truncated", f"object 0x{oid:02x} needs {spec.length} bytes")
        raw = int.from_bytes(data[i + 1:end], "little", signed=spec.signed)
        if oid == 0x00:
            packet_id = raw
        else:
            values.append((spec.name, raw * spec.factor if spec.factor != 1 else float(raw)))
        i = end
    return BTHomeReading(False, bool(info & 0x04), packet_id, tuple(values))
