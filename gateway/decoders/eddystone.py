"""Eddystone (service data of UUID 0xFEAA): UID, URL, TLM (unencrypted) and EID frames."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DecodeError

SERVICE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
UID, URL, TLM, EID = 0x00, 0x10, 0x20, 0x30
_SCHEMES = ("http://www.", "https://www.", "http://", "https://")
_EXPANSIONS = (".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
               ".com", ".org", ".edu", ".net", ".info", ".biz", ".gov")


@dataclass(frozen=True, slots=True)
class EddystoneUID:
    tx_power: int  # dBm at 0 m
    namespace: str  # 10 bytes hex
    instance: str  # 6 bytes hex

    @property
    def values(self) -> tuple[tuple[str, str | int], ...]:
        return (("namespace", self.namespace), ("instance", self.instance),
                ("tx_power", self.tx_power))


@dataclass(frozen=True, slots=True)
class EddystoneURL:
    tx_power: int
    url: str

    @property
    def values(self) -> tuple[tuple[str, str | int], ...]:
        return (("url", self.url), ("tx_power", self.tx_power))


@dataclass(frozen=True, slots=True)
class EddystoneTLM:
    battery_voltage: float | None  # V; None when the beacon has no battery sensing
    temperature: float | None  # °C (8.8 fixed point); None when not supported
    adv_count: int
    uptime_s: float  # 0.1 s resolution

    @property
    def values(self) -> tuple[tuple[str, float | int], ...]:
        out: list[tuple[str, float | int]] = []
        if self.battery_voltage is not None:
            out.append(("battery_voltage", self.battery_voltage))
        if self.temperature is not None:
            out.append(("temperature", self.temperature))
        return (*out, ("adv_count", self.adv_count), ("uptime_s", self.uptime_s))


@dataclass(frozen=True, slots=True)
class EddystoneEID:
    tx_power: int
    eid: str  # 8 bytes hex; only the beacon's registrar can resolve it

    @property
    def values(self) -> tuple[tuple[str, str | int], ...]:
        return (("eid", self.eid), ("tx_power", self.tx_power))


EddystoneReading = EddystoneUID | EddystoneURL | EddystoneTLM | EddystoneEID
UNITS = {"tx_power": "dBm", "battery_voltage": "V", "temperature": "°C", "uptime_s": "s"}


def _need(data: bytes, n: int, what: str) -> None:
    if len(data) < n:
        raise DecodeError("truncated", f"Eddystone-{what} needs {n} bytes, got {len(data)}")


def _url(data: bytes) -> str:
    if data[0] >= len(_SCHEMES):
        raise DecodeError("bad_url", f"URL scheme prefix 0x{data[0]:02x} is not defined")
    out = [_SCHEMES[data[0]]]
    for b in data[1:]:
        if b < len(_EXPANSIONS):
            out.append(_EXPANSIONS[b])
        elif 0x21 <= b <= 0x7E:
            out.append(chr(b))
        else:
            raise DecodeError("bad_url", f"byte 0x{b:02x} is not a URL character")
    return "".join(out)


def decode(data: bytes) -> EddystoneReading:
    if not data:
        raise DecodeError("truncated", "empty Eddystone frame")
    frame = data[0]
    if frame == UID:
        _need(data, 18, "UID")  # the 2 reserved bytes at the end are optional in practice
        return EddystoneUID(_s8(data[1]), data[2:12].hex(), data[12:18].hex())
    if frame == URL:
        _need(data, 3, "URL")
        if len(data) > 20:
            raise DecodeError("too_long", "Eddystone-URL carries at most 17 URL bytes")
        return EddystoneURL(_s8(data[1]), _url(data[2:]))
    if frame == TLM:
        _need(data, 2, "TLM")
        if data[1] != 0x00:
            # Version 1 is encrypted TLM (ETLM), readable only with the EID identity key.
            raise DecodeError("encrypted_tlm", f"TLM version {data[1]} is not supported")
        _need(data, 14, "TLM")
        mv = int.from_bytes(data[2:4], "big")
        temp = int.from_bytes(data[4:6], "big", signed=True)
        return EddystoneTLM(None if mv == 0 else mv / 1000,
                            None if temp == -32768 else temp / 256,
                            int.from_bytes(data[6:10], "big"),
                            int.from_bytes(data[10:14], "big") / 10)
    if frame == EID:
        _need(data, 10, "EID")
        return EddystoneEID(_s8(data[1]), data[2:10].hex())
    raise DecodeError("unsupported_frame", f"Eddystone frame type 0x{frame:02x}")


def _s8(b: int) -> int:
    return b - 256 if b > 127 else b
