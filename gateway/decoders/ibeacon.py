"""Apple iBeacon: manufacturer data of company 0x004C, type 0x02, length 0x15 (21 bytes follow)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .errors import DecodeError

COMPANY_ID = 0x004C
_TYPE, _LEN = 0x02, 0x15


@dataclass(frozen=True, slots=True)
class IBeaconReading:
    uuid: str
    major: int
    minor: int
    tx_power: int  # calibrated RSSI at 1 m, dBm

    @property
    def values(self) -> tuple[tuple[str, str | int], ...]:
        return (("uuid", self.uuid), ("major", self.major), ("minor", self.minor),
                ("tx_power", self.tx_power))


def decode(data: bytes) -> IBeaconReading:
    if len(data) < 2:
        raise DecodeError("truncated", "Apple manufacturer data shorter than 2 bytes")
    if data[0] != _TYPE or data[1] != _LEN:
        # Other Apple adverts (AirDrop, Find My, ...) share the company id.
        raise DecodeError("not_ibeacon", f"Apple data type 0x{data[0]:02x}, not an iBeacon")
    if len(data) < 2 + _LEN:
        raise DecodeError("truncated", f"iBeacon needs 23 bytes, got {len(data)}")
    return IBeaconReading(str(uuid.UUID(bytes=bytes(data[2:18]))),
                          int.from_bytes(data[18:20], "big"), int.from_bytes(data[20:22], "big"),
                          int.from_bytes(data[22:23], "big", signed=True))
