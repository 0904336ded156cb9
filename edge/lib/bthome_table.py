"""BTHome v2 object table for the firmware: GENERATED from machimori/contract/bthome.py.

Do not edit: run `machimori edge table` after changing the contract. Each entry is
object id: (length in bytes, signed, decimal exponent of the factor or None).
"""

from micropython import const

SERVICE_UUID16 = const(0xFCD2)
DEVINFO_ENCRYPTED = const(0x01)
DEVINFO_TRIGGER = const(0x04)
VERSION_2 = const(0x40)

OBJECTS = {
    0x00: (1, False, 0),  # packet_id
    0x01: (1, False, 0),  # battery
    0x02: (2, True, -2),  # temperature
    0x03: (2, False, -2),  # humidity
    0x04: (3, False, -2),  # pressure
    0x05: (3, False, -2),  # illuminance
    0x06: (2, False, -2),  # mass
    0x07: (2, False, -2),  # mass_lb
    0x08: (2, True, -2),  # dewpoint
    0x09: (1, False, 0),  # count
    0x0A: (3, False, -3),  # energy
    0x0B: (3, False, -2),  # power
    0x0C: (2, False, -3),  # voltage
    0x0D: (2, False, 0),  # pm25
    0x0E: (2, False, 0),  # pm10
    0x0F: (1, False, 0),  # generic_boolean
    0x10: (1, False, 0),  # power_on
    0x11: (1, False, 0),  # opening
    0x12: (2, False, 0),  # co2
    0x13: (2, False, 0),  # tvoc
    0x14: (2, False, -2),  # moisture
    0x15: (1, False, 0),  # battery_low
    0x16: (1, False, 0),  # battery_charging
    0x17: (1, False, 0),  # carbon_monoxide
    0x18: (1, False, 0),  # cold
    0x19: (1, False, 0),  # connectivity
    0x1A: (1, False, 0),  # door
    0x1B: (1, False, 0),  # garage_door
    0x1C: (1, False, 0),  # gas_detected
    0x1D: (1, False, 0),  # hot
    0x1E: (1, False, 0),  # light
    0x1F: (1, False, 0),  # unlocked
    0x20: (1, False, 0),  # wet
    0x21: (1, False, 0),  # motion
    0x22: (1, False, 0),  # moving
    0x23: (1, False, 0),  # occupancy
    0x24: (1, False, 0),  # plug
    0x25: (1, False, 0),  # presence
    0x26: (1, False, 0),  # problem
    0x27: (1, False, 0),  # running
    0x28: (1, False, 0),  # safety
    0x29: (1, False, 0),  # smoke
    0x2A: (1, False, 0),  # sound
    0x2B: (1, False, 0),  # tamper
    0x2C: (1, False, 0),  # vibration
    0x2D: (1, False, 0),  # window
    0x2E: (1, False, 0),  # humidity
    0x2F: (1, False, 0),  # moisture
    0x3A: (1, False, 0),  # button
    0x3B: (0, False, 0),  # command
    0x3C: (2, False, 0),  # dimmer
    0x3D: (2, False, 0),  # count
    0x3E: (4, False, 0),  # count
    0x3F: (2, True, -1),  # rotation
    0x40: (2, False, 0),  # distance_mm
    0x41: (2, False, -1),  # distance
    0x42: (3, False, -3),  # duration
    0x43: (2, False, -3),  # current
    0x44: (2, False, -2),  # speed
    0x45: (2, True, -1),  # temperature
    0x46: (1, False, -1),  # uv_index
    0x47: (2, False, -1),  # volume
    0x48: (2, False, 0),  # volume_ml
    0x49: (2, False, -3),  # volume_flow_rate
    0x4A: (2, False, -1),  # voltage
    0x4B: (3, False, -3),  # gas
    0x4C: (4, False, -3),  # gas
    0x4D: (4, False, -3),  # energy
    0x4E: (4, False, -3),  # volume
    0x4F: (4, False, -3),  # water
    0x50: (4, False, 0),  # timestamp
    0x51: (2, False, -3),  # acceleration
    0x52: (2, False, -3),  # gyroscope
    0x53: (0, False, 0),  # text
    0x54: (0, False, 0),  # raw
    0x55: (4, False, -3),  # volume_storage
    0x56: (2, False, 0),  # conductivity
    0x57: (1, True, 0),  # temperature
    0x58: (1, True, None),  # temperature
    0x59: (1, True, 0),  # count
    0x5A: (2, True, 0),  # count
    0x5B: (4, True, 0),  # count
    0x5C: (4, True, -2),  # power
    0x5D: (2, True, -3),  # current
    0x5E: (2, False, -2),  # direction
    0x5F: (2, False, -1),  # precipitation
    0x60: (1, False, 0),  # channel
    0x61: (2, False, 0),  # rotational_speed
    0x62: (4, True, -6),  # speed
    0x63: (4, True, -6),  # acceleration
    0x64: (1, False, 0),  # light_level
    0x65: (1, False, 0),  # settings_revision
    0xF0: (2, False, 0),  # device_type_id
    0xF1: (4, False, 0),  # firmware_version
    0xF2: (3, False, 0),  # firmware_version
}
