"""ECHONET Lite frames for Route-B: build a Get, parse the smart meter's answer. Pure.

Frame (EDATA format 1): EHD 10 81, TID (2), SEOJ (3), DEOJ (3), ESV, OPC, then OPC times
EPC, PDC, EDT. A controller (05FF01) asks the low-voltage smart meter (028801).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .decoders.errors import DecodeError

EHD = b"\x10\x81"
CONTROLLER = b"\x05\xff\x01"
SMART_METER = b"\x02\x88\x01"
GET, GET_RES, GET_SNA = 0x62, 0x72, 0x52
INF, INFC = 0x73, 0x74
PORT = 0x0E1A  # 3610

E7_POWER = 0xE7  # instantaneous power, int32 W
E0_ENERGY = 0xE0  # cumulative energy (normal direction), uint32 in E1 units × D3
E1_UNIT = 0xE1  # unit of E0
D3_COEFF = 0xD3  # coefficient of E0 (optional property; 1 when absent)
D7_DIGITS = 0xD7  # number of effective digits of E0
E8_CURRENT = 0xE8  # instantaneous current, R and T phase int16 × 0.1 A

POWER_NONE = 0x7FFFFFFE
ENERGY_NONE = 0xFFFFFFFE
CURRENT_NONE = 0x7FFE
# E1 code -> kWh per count.
UNITS = {0x00: 1.0, 0x01: 0.1, 0x02: 0.01, 0x03: 0.001, 0x04: 0.0001,
         0x0A: 10.0, 0x0B: 100.0, 0x0C: 1000.0, 0x0D: 10000.0}


@dataclass(frozen=True, slots=True)
class Frame:
    tid: int
    seoj: bytes
    deoj: bytes
    esv: int
    props: tuple[tuple[int, bytes], ...]  # (EPC, EDT); EDT empty when PDC is 0

    def get(self, epc: int) -> bytes | None:
        for e, d in self.props:
            if e == epc:
                return d
        return None


def build(tid: int, esv: int, props: list[tuple[int, bytes]], seoj: bytes = CONTROLLER,
          deoj: bytes = SMART_METER) -> bytes:
    out = bytearray(EHD + (tid & 0xFFFF).to_bytes(2, "big") + seoj + deoj)
    out += bytes([esv, len(props)])
    for epc, edt in props:
        out += bytes([epc, len(edt)]) + edt
    return bytes(out)


def get_request(tid: int, epcs: list[int]) -> bytes:
    return build(tid, GET, [(e, b"") for e in epcs])


def parse(data: bytes) -> Frame:
    if len(data) < 12:
        raise DecodeError("truncated", f"ECHONET Lite frame needs 12+ bytes, got {len(data)}")
    if data[:2] != EHD:
        raise DecodeError("not_echonet", f"header {data[:2].hex()} is not 1081")
    opc = data[11]
    props = []
    i = 12
    for _ in range(opc):
        if i + 2 > len(data):
            raise DecodeError("truncated", "property header past the end")
        epc, pdc = data[i], data[i + 1]
        if i + 2 + pdc > len(data):
            raise DecodeError("truncated", f"EPC {epc:02X} needs {pdc} bytes")
        props.append((epc, bytes(data[i + 2:i + 2 + pdc])))
        i += 2 + pdc
    return Frame(int.from_bytes(data[2:4], "big"), bytes(data[4:7]), bytes(data[7:10]),
                 data[10], tuple(props))


def power_w(edt: bytes) -> int | None:
    if len(edt) != 4:
        raise DecodeError("bad_length", f"E7 must be 4 bytes, got {len(edt)}")
    v = int.from_bytes(edt, "big", signed=True)
    return None if v == POWER_NONE else v


def unit_kwh(edt: bytes) -> float:
    if len(edt) != 1 or edt[0] not in UNITS:
        raise DecodeError("bad_unit", f"E1 {edt.hex()} is not a defined unit code")
    return UNITS[edt[0]]


def energy_kwh(edt: bytes, unit: float, coefficient: int = 1) -> float | None:
    if len(edt) != 4:
        raise DecodeError("bad_length", f"E0 must be 4 bytes, got {len(edt)}")
    v = int.from_bytes(edt, "big")
    # Round away the binary noise of unit×count (0.1 × 3 = 0.30000000000000004).
    return None if v == ENERGY_NONE else round(v * unit * coefficient, 6)


def describe(frame: Frame) -> dict[str, Any]:
    """A frame as JSON-able values with units (`gw decode --echonet`)."""
    unit_edt = frame.get(E1_UNIT)
    coeff_edt = frame.get(D3_COEFF)
    unit = unit_kwh(unit_edt) if unit_edt else None
    coeff = int.from_bytes(coeff_edt, "big") if coeff_edt else 1
    values: list[dict[str, Any]] = []
    for epc, edt in frame.props:
        v: dict[str, Any] = {"epc": f"{epc:02X}"}
        if not edt:
            v["value"] = None
        elif epc == E7_POWER:
            v.update(name="instantaneous_power", value=power_w(edt), unit="W")
        elif epc == E0_ENERGY and unit is not None:
            v.update(name="cumulative_energy", value=energy_kwh(edt, unit, coeff), unit="kWh")
        elif epc == E0_ENERGY:
            v.update(name="cumulative_energy_count", value=int.from_bytes(edt, "big"),
                     unit="(needs E1)")
        elif epc == E1_UNIT:
            v.update(name="energy_unit", value=unit_kwh(edt), unit="kWh")
        elif epc == D3_COEFF:
            v.update(name="coefficient", value=int.from_bytes(edt, "big"), unit="")
        elif epc == E8_CURRENT and len(edt) == 4:
            r, t = (int.from_bytes(edt[k:k + 2], "big", signed=True) for k in (0, 2))
            v.update(name="instantaneous_current",
                     value=[None if x == CURRENT_NONE else round(x * 0.1, 1) for x in (r, t)],
                     unit="A")
        else:
            v.update(value=edt.hex())
        values.append(v)
    return {"kind": "echonet", "tid": frame.tid, "seoj": frame.seoj.hex(),
            "deoj": frame.deoj.hex(), "esv": f"{frame.esv:02X}", "values": values}
