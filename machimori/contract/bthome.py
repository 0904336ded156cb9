"""BTHome v2 (bthome.io): the one measurement table, and the encoder the sim and firmware build use.

The gateway's decoder (gateway/decoders/bthome.py) reads the same table; the MicroPython
firmware gets a generated copy of it (see edge/). Never write a second table.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_UUID16 = 0xFCD2
SERVICE_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"

# Device information byte: bit 0 encryption, bit 1 MAC in payload, bit 2 trigger-based,
# bits 5-7 version.
DEVINFO_ENCRYPTED = 0x01
DEVINFO_MAC = 0x02  # the device's MAC (6 bytes, least significant first) follows the info byte
DEVINFO_TRIGGER = 0x04
VERSION_2 = 2 << 5


@dataclass(frozen=True)
class ObjectSpec:
    object_id: int
    name: str  # key in decoded readings
    length: int  # bytes; 0 means length-prefixed (text/raw/command)
    signed: bool
    factor: float
    unit: str
    kind: str = "sensor"  # sensor | binary | event | text | raw | command | timestamp | device


# Every object id of the BTHome v2 specification (bthome.io "format", as implemented by the
# reference receiver bthome-ble 3.25). Names are ours and unique per meaning; several ids share
# a name when they are the same quantity at another size or resolution (0x02/0x45/0x57/0x58).
_T = [
    # id,  name,                len, signed, factor, unit
    (0x00, "packet_id", 1, False, 1, ""),
    (0x01, "battery", 1, False, 1, "%"),
    (0x02, "temperature", 2, True, 0.01, "°C"),
    (0x03, "humidity", 2, False, 0.01, "%"),
    (0x04, "pressure", 3, False, 0.01, "hPa"),
    (0x05, "illuminance", 3, False, 0.01, "lx"),
    (0x06, "mass", 2, False, 0.01, "kg"),
    (0x07, "mass_lb", 2, False, 0.01, "lb"),
    (0x08, "dewpoint", 2, True, 0.01, "°C"),
    (0x09, "count", 1, False, 1, ""),
    (0x0A, "energy", 3, False, 0.001, "kWh"),
    (0x0B, "power", 3, False, 0.01, "W"),
    (0x0C, "voltage", 2, False, 0.001, "V"),
    (0x0D, "pm25", 2, False, 1, "µg/m³"),
    (0x0E, "pm10", 2, False, 1, "µg/m³"),
    (0x12, "co2", 2, False, 1, "ppm"),
    (0x13, "tvoc", 2, False, 1, "µg/m³"),
    (0x14, "moisture", 2, False, 0.01, "%"),
    (0x2E, "humidity", 1, False, 1, "%"),
    (0x2F, "moisture", 1, False, 1, "%"),
    (0x3D, "count", 2, False, 1, ""),
    (0x3E, "count", 4, False, 1, ""),
    (0x3F, "rotation", 2, True, 0.1, "°"),
    (0x40, "distance_mm", 2, False, 1, "mm"),
    (0x41, "distance", 2, False, 0.1, "m"),
    (0x42, "duration", 3, False, 0.001, "s"),
    (0x43, "current", 2, False, 0.001, "A"),
    (0x44, "speed", 2, False, 0.01, "m/s"),
    (0x45, "temperature", 2, True, 0.1, "°C"),
    (0x46, "uv_index", 1, False, 0.1, ""),
    (0x47, "volume", 2, False, 0.1, "L"),
    (0x48, "volume_ml", 2, False, 1, "mL"),
    (0x49, "volume_flow_rate", 2, False, 0.001, "m³/h"),
    (0x4A, "voltage", 2, False, 0.1, "V"),
    (0x4B, "gas", 3, False, 0.001, "m³"),
    (0x4C, "gas", 4, False, 0.001, "m³"),
    (0x4D, "energy", 4, False, 0.001, "kWh"),
    (0x4E, "volume", 4, False, 0.001, "L"),
    (0x4F, "water", 4, False, 0.001, "L"),
    (0x51, "acceleration", 2, False, 0.001, "m/s²"),
    (0x52, "gyroscope", 2, False, 0.001, "°/s"),
    (0x55, "volume_storage", 4, False, 0.001, "L"),
    (0x56, "conductivity", 2, False, 1, "µS/cm"),
    (0x57, "temperature", 1, True, 1, "°C"),
    (0x58, "temperature", 1, True, 0.35, "°C"),
    (0x59, "count", 1, True, 1, ""),
    (0x5A, "count", 2, True, 1, ""),
    (0x5B, "count", 4, True, 1, ""),
    (0x5C, "power", 4, True, 0.01, "W"),
    (0x5D, "current", 2, True, 0.001, "A"),
    (0x5E, "direction", 2, False, 0.01, "°"),
    (0x5F, "precipitation", 2, False, 0.1, "mm"),
    (0x60, "channel", 1, False, 1, ""),
    (0x61, "rotational_speed", 2, False, 1, "rpm"),
    (0x62, "speed", 4, True, 0.000001, "m/s"),
    (0x63, "acceleration", 4, True, 0.000001, "m/s²"),
    (0x64, "light_level", 1, False, 1, ""),
    (0x65, "settings_revision", 1, False, 1, ""),
]

# Binary sensors: one byte, 0 = off / 1 = on. Names say what "on" means where the bare word
# would collide with a measurement (battery, gas, heat, moisture, power).
_BINARY = [
    (0x0F, "generic_boolean"), (0x10, "power_on"), (0x11, "opening"), (0x15, "battery_low"),
    (0x16, "battery_charging"), (0x17, "carbon_monoxide"), (0x18, "cold"),
    (0x19, "connectivity"), (0x1A, "door"), (0x1B, "garage_door"), (0x1C, "gas_detected"),
    (0x1D, "hot"), (0x1E, "light"), (0x1F, "unlocked"), (0x20, "wet"), (0x21, "motion"),
    (0x22, "moving"), (0x23, "occupancy"), (0x24, "plug"), (0x25, "presence"),
    (0x26, "problem"), (0x27, "running"), (0x28, "safety"), (0x29, "smoke"), (0x2A, "sound"),
    (0x2B, "tamper"), (0x2C, "vibration"), (0x2D, "window"),
]

# Everything that is not a plain scaled integer.
_SPECIAL = [
    ObjectSpec(0x3A, "button", 1, False, 1, "", "event"),
    ObjectSpec(0x3B, "command", 0, False, 1, "", "command"),  # len byte: low 5 bits = args
    ObjectSpec(0x3C, "dimmer", 2, False, 1, "", "event"),  # event type, steps
    ObjectSpec(0x50, "timestamp", 4, False, 1, "s", "timestamp"),  # unix seconds, UTC
    ObjectSpec(0x53, "text", 0, False, 1, "", "text"),  # UTF-8
    ObjectSpec(0x54, "raw", 0, False, 1, "", "raw"),
    ObjectSpec(0xF0, "device_type_id", 2, False, 1, "", "device"),
    ObjectSpec(0xF1, "firmware_version", 4, False, 1, "", "device"),  # 4 parts, LSB first
    ObjectSpec(0xF2, "firmware_version", 3, False, 1, "", "device"),  # 3 parts, LSB first
]

BUTTON_EVENTS = {0x00: "none", 0x01: "press", 0x02: "double_press", 0x03: "triple_press",
                 0x04: "long_press", 0x05: "long_double_press", 0x06: "long_triple_press",
                 0x80: "hold_press"}
DIMMER_EVENTS = {0x00: "none", 0x01: "rotate_left", 0x02: "rotate_right"}
COMMAND_EVENTS = {0x00: "off", 0x01: "on", 0x02: "toggle", 0x03: "step_up", 0x04: "step_down"}

OBJECTS: dict[int, ObjectSpec] = dict(sorted(
    [(row[0], ObjectSpec(*row)) for row in _T]
    + [(oid, ObjectSpec(oid, name, 1, False, 1, "", "binary")) for oid, name in _BINARY]
    + [(spec.object_id, spec) for spec in _SPECIAL]))

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


def mac_field(mac: str) -> bytes:
    """The MAC as a BTHome payload carries it (bit 1 of the info byte): reversed byte order."""
    return bytes.fromhex(mac.replace(":", ""))[::-1]


def encode_service_data(objects: list[tuple[int, float]], trigger: bool = False,
                        mac: str | None = None) -> bytes:
    """Unencrypted BTHome v2 service data (the bytes after the 0xFCD2 UUID); with `mac`, the
    device's MAC rides in the payload (info bit 1) for devices with a random address."""
    info = VERSION_2 | (DEVINFO_TRIGGER if trigger else 0) | (DEVINFO_MAC if mac else 0)
    return bytes([info]) + (mac_field(mac) if mac else b"") + encode_objects(objects)


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




def nonce(mac: str, info: int, counter: bytes) -> bytes:
    """The AES-CCM nonce: MAC as printed (most significant byte first), the service UUID
    little-endian, the device-information byte, the 4-byte counter (little-endian)."""
    return (bytes.fromhex(mac.replace(":", "")) + SERVICE_UUID16.to_bytes(2, "little")
            + bytes([info]) + counter)


def encrypt_service_data(objects: list[tuple[int, float]], bindkey: bytes, mac: str,
                         counter: int, trigger: bool = False, mac_in_payload: bool = False
                         ) -> bytes:
    """Encrypted BTHome v2 service data: info byte, AES-CCM ciphertext, counter (LE), 4-byte MIC.

    The nonce is the device's MAC (as printed, most significant byte first), the UUID 0xFCD2 in
    little-endian order, the info byte and the counter: the receiver rebuilds it from the advert.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    info = (VERSION_2 | DEVINFO_ENCRYPTED | (DEVINFO_TRIGGER if trigger else 0)
            | (DEVINFO_MAC if mac_in_payload else 0))
    ctr = counter.to_bytes(4, "little")
    sealed = AESCCM(bindkey, tag_length=4).encrypt(nonce(mac, info, ctr), encode_objects(objects),
                                                    None)
    head = bytes([info]) + (mac_field(mac) if mac_in_payload else b"")
    return head + sealed[:-4] + ctr + sealed[-4:]
