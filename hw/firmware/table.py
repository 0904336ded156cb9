"""Generates edge/lib/bthome_table.py from the one BTHome table (machimori.contract.bthome).

The firmware cannot import the CPython contract, so it gets this generated copy; a test checks the
committed file is exactly what this module produces (`machimori edge table` rewrites it).
"""

from __future__ import annotations

import math
from pathlib import Path

from machimori.contract import bthome

TABLE_PATH = Path(__file__).resolve().parents[2] / "edge" / "lib" / "bthome_table.py"


def decimal_exponent(factor: float) -> int | None:
    """e with factor == 10**e, or None when the factor is not a power of ten."""
    if factor <= 0:
        return None
    e = round(math.log10(factor))
    return e if math.isclose(10.0**e, factor, rel_tol=1e-9) else None


def render() -> str:
    lines = [
        '"""BTHome v2 object table for the firmware: GENERATED from machimori/contract/bthome.py.',
        "",
        "Do not edit: run `machimori edge table` after changing the contract. Each entry is",
        "object id: (length in bytes, signed, decimal exponent of the factor or None).",
        '"""',
        "",
        "from micropython import const",
        "",
        f"SERVICE_UUID16 = const(0x{bthome.SERVICE_UUID16:04X})",
        f"DEVINFO_ENCRYPTED = const(0x{bthome.DEVINFO_ENCRYPTED:02X})",
        f"DEVINFO_TRIGGER = const(0x{bthome.DEVINFO_TRIGGER:02X})",
        f"VERSION_2 = const(0x{bthome.VERSION_2:02X})",
        "",
        "OBJECTS = {",
    ]
    for oid in sorted(bthome.OBJECTS):
        spec = bthome.OBJECTS[oid]
        exp = decimal_exponent(spec.factor)
        lines.append(f"    0x{oid:02X}: ({spec.length}, {spec.signed}, {exp}),  # {spec.name}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(path: Path | None = None) -> Path:
    path = path or TABLE_PATH
    path.write_text(render(), encoding="utf-8")
    return path
