"""BTHome v2 (bthome.io): the one measurement table, and the encoder the sim and firmware build use.

The gateway's decoder (gateway/decoders/bthome.py) reads the same table; the MicroPython
firmware gets a generated copy of it (see edge/). Never write a second table.
"""

from __future__ import annotations


from dataclasses import dataclass

SERVICE_UUID16 = 0xFCD2
SERVICE_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"

# Device information byte: bit 0 encryption, bit 2 trigger-based, bits 5-7 version.
DEVINFO_ENCRYPTED = 0x01
DEVINFO_TRIGGER = 0x04
VERSION_2 = 2 << 5


@dataclass(frozen=True)
class ObjectSpec:
    object_id: int
    name: str  # key in decoded readings
    length: int  # bytes; 0 means length-prefixed (text/raw)
    signed: bool
    factor: float
    unit: str


_T = [
    # id,  name,            len, signed, factor, unit
    (0x00, "packet_id", 1, False, 1, ""),
    (0x01, "battery", 1, False, 1, "%"),
    (0x02, "temperature", 2, True, 0.01, "°C"),
    (0x03, "humidity", 2, False, 0.01, "%"),
    (0x04, "pressure", 3, False, 0.01, "hPa"),
    (0x05, "illuminance", 3, False, 0.01, "lx"),
    (0x08, "dewpoint", 2, True, 0.01, "°C"),
    (0x09, "count", 1, False, 1, ""),
    (0x0A, "energy", 3, False, 0.001, "kWh"),
    (0x0B, "power", 3, False, 0.01, "W"),
    (0x0C, "voltage", 2, False, 0.001, "V"),
    (0x2E, "humidity", 1, False, 1, "%"),
    (0x3D, "count", 2, False, 1, ""),
    (0x3E, "count", 4, False, 1, ""),
    (0x44, "speed", 2, False, 0.01, "m/s"),
    (0x45, "temperature", 2, True, 0.1, "°C"),
    (0x46, "uv_index", 1, False, 0.1, ""),
]

OBJECTS: dict[int, ObjectSpec] = {row[0]: ObjectSpec(*row) for row in _T}

# Heat-node object layout (documented in docs/protocol.md): temperatures in this order.
HEAT_NODE_TEMPERATURES = ("air_c", "surface_c", "globe_c")


def _pack(spec: ObjectSpec, value: float) -> bytes:
    raw = round(value / spec.factor)
    lo = -(1 << (8 * spec.length - 1)) if spec.signed else 0
    hi = (1 << (8 * spec.length - 1)) - 1 if spec.signed else (1 << (8 * spec.length)) - 1
    if not lo <= raw <= hi:
        raise ValueError(f"{spec.name} value {value} out of range for object 0x{spec.object_id:02x}")
    return int(raw).to_bytes(spec.length, "little", signed=spec.signed)


def encode_objects(objects: list[tuple[int, float]]) -> bytes:
    """(object id, value) pairs -> the object bytes, in the order given (ids must not decrease)."""
    out = bytearray()
    last = -1
    for object_id, value in objects:
        if object_id < last:
            raise ValueError("BTHome objects must be in ascending object-id order")
        last = object_id
        out.append(object_id)
        out += _pack(OBJECTS[object_id], value)
    return bytes(out)


def encode_service_data(objects: list[tuple[int, float]], trigger: bool = False) -> bytes:
    """Unencrypted BTHome v2 service data (the bytes after the 0xFCD2 UUID)."""
    info = VERSION_2 | (DEVINFO_TRIGGER if trigger else 0)
    return bytes([info]) + encode_objects(objects)


def heat_node_objects(packet_id: int, battery: int, air_c: float, humidity: float,
                      illuminance: float, surface_c: float | None = None,
                      globe_c: float | None = None) -> list[tuple[int, float]]:
    """The heat node's advert: packet id, battery, temperatures (air, surface, globe), RH, lux."""
    objs: list[tuple[int, float]] = [(0x00, packet_id & 0xFF), (0x01, battery), (0x02, air_c)]
    if surface_c is not None:
        objs.append((0x02, surface_c))
    if globe_c is not None:
        if surface_c is None:
            raise ValueError("a globe temperature needs the surface temperature before it")
        objs.append((0x02, globe_c))
    objs += [(0x03, humidity), (0x05, illuminance)]
    return objs


