"""RuuviTag data format 5 ("RAWv2"): manufacturer data of company 0x0499, 24 bytes, big-endian.

Each field has an all-ones (or most-negative) value meaning "not available": those become None.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import DecodeError

COMPANY_ID = 0x0499
FORMAT = 5
LENGTH = 24
_LAYOUT = struct.Struct(">BhHHhhhHBH6s")

UNITS = {"temperature": "°C", "humidity": "%", "pressure": "hPa", "acceleration_x": "g",
         "acceleration_y": "g", "acceleration_z": "g", "battery_voltage": "V",
         "tx_power": "dBm", "movement_counter": "", "sequence": ""}


@dataclass(frozen=True, slots=True)
class RuuviReading:
    mac: str
    temperature: float | None  # °C, 0.005 steps
    humidity: float | None  # %RH, 0.0025 steps
    pressure: float | None  # hPa
    acceleration_x: float | None  # g
    acceleration_y: float | None
    acceleration_z: float | None
    battery_voltage: float | None  # V
    tx_power: int | None  # dBm
    movement_counter: int | None
    sequence: int | None

    @property
    def values(self) -> tuple[tuple[str, float | int], ...]:
        return tuple((k, v) for k in UNITS if (v := getattr(self, k)) is not None)


def decode(data: bytes) -> RuuviReading:
    """The manufacturer data after the company id (starting with the format byte 0x05)."""
    if not data:
        raise DecodeError("truncated", "empty Ruuvi manufacturer data")
    if data[0] != FORMAT:
        raise DecodeError("unsupported_format", f"Ruuvi data format {data[0]} (only 5)")
    if len(data) < LENGTH:
        raise DecodeError("truncated", f"Ruuvi format 5 needs {LENGTH} bytes, got {len(data)}")
    (_, t, h, p, ax, ay, az, power, move, seq, mac) = _LAYOUT.unpack_from(data)
    volts = power >> 5  # top 11 bits: battery mV above 1600; low 5 bits: tx power
    tx = power & 0x1F

    def acc(a: int) -> float | None:
        return None if a == -32768 else a / 1000

    return RuuviReading(
        mac=":".join(f"{b:02X}" for b in mac),
        temperature=None if t == -32768 else round(t * 0.005, 3),
        humidity=None if h == 0xFFFF else round(h * 0.0025, 4),
        pressure=None if p == 0xFFFF else round((p + 50000) / 100, 2),
        acceleration_x=acc(ax), acceleration_y=acc(ay), acceleration_z=acc(az),
        battery_voltage=None if volts == 0x7FF else (volts + 1600) / 1000,
        tx_power=None if tx == 0x1F else tx * 2 - 40,
        movement_counter=None if move == 0xFF else move,
        sequence=None if seq == 0xFFFF else seq,
    )
