"""The project's own frames: what every radio/serial adapter turns its input into.

The bleak adapter, the sim and the installer's `gw decode` all produce `Advert`; decoders take
plain bytes from it. Time is a value in the frame, never read by the decoders themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Advert:
    address: str  # "AA:BB:CC:DD:EE:FF"
    ts: float  # unix seconds when heard
    rssi: int
    service_data: dict[str, bytes] = field(default_factory=dict)  # 128-bit UUID string -> bytes
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)  # company id -> bytes
    local_name: str | None = None


@dataclass(frozen=True, slots=True)
class SerialLine:
    port: str
    ts: float
    raw: bytes
