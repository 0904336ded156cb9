"""BTHome v2 advert encoder for the firmware, driven by the generated object table.

Values come in as integers with a decimal exponent (2150, -2 is 21.50) and are rescaled to each
object's factor with integer math; objects must be added in ascending id order (bthome.io).
Encryption is AES-CCM per bthome.io: nonce = MAC (6, as printed) + UUID16 LE + device-info byte +
counter (4, LE); 4-byte MIC; no associated data.
"""

from bthome_table import DEVINFO_ENCRYPTED, OBJECTS, SERVICE_UUID16, VERSION_2
from micropython import const

_MAX_OBJECTS = const(24)  # bytes of objects that still fit a legacy 31-byte advert


def rescale(value, exp, to_exp):
    """value * 10**exp expressed in units of 10**to_exp, rounded half away from zero."""
    if exp >= to_exp:
        return value * 10 ** (exp - to_exp)
    d = 10 ** (to_exp - exp)
    return (value + d // 2) // d if value >= 0 else -((-value + d // 2) // d)


class Encoder:
    def __init__(self):
        self.buf = bytearray(_MAX_OBJECTS)
        self.n = 0
        self._last = -1

    def clear(self):
        self.n = 0
        self._last = -1

    def add(self, oid, value, exp=0):
        length, signed, oexp = OBJECTS[oid]
        if oid < self._last:
            raise ValueError("BTHome objects must be added in ascending id order")
        if oexp is None or length == 0:
            raise ValueError("object 0x%02x has no decimal factor or fixed length" % oid)
        raw = rescale(value, exp, oexp)
        bits = 8 * length
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if not lo <= raw <= hi:
            raise ValueError("object 0x%02x value out of range" % oid)
        if self.n + 1 + length > _MAX_OBJECTS:
            raise ValueError("too many objects for one advert")
        b = self.buf
        b[self.n] = oid
        raw &= (1 << bits) - 1
        for i in range(length):
            b[self.n + 1 + i] = (raw >> (8 * i)) & 0xFF
        self.n += 1 + length
        self._last = oid

    def objects(self):
        return bytes(self.buf[: self.n])

    def service_data(self, trigger=False):
        """Unencrypted service data (the bytes after the UUID)."""
        return bytes([VERSION_2 | (0x04 if trigger else 0)]) + self.objects()

    def encrypted_service_data(self, key, mac, counter, trigger=False):
        """Encrypted service data: info, ciphertext, counter (4, LE), MIC (4)."""
        from ccm import encrypt

        info = VERSION_2 | DEVINFO_ENCRYPTED | (0x04 if trigger else 0)
        ctr = bytes((counter >> (8 * i)) & 0xFF for i in range(4))
        nonce = bytes(mac) + bytes((SERVICE_UUID16 & 0xFF, SERVICE_UUID16 >> 8, info)) + ctr
        ct, mic = encrypt(key, nonce, self.objects(), 4)
        return bytes([info]) + ct + ctr + mic


def adv_payload(service_data, flags=True):
    """Advertising data: optional Flags AD (LE General Discoverable, BR/EDR not supported) and
    the 16-bit service data AD. Raises ValueError past the 31 bytes of a legacy advert."""
    head = b"\x02\x01\x06" if flags else b""
    ad = bytes((len(service_data) + 3, 0x16, SERVICE_UUID16 & 0xFF, SERVICE_UUID16 >> 8))
    out = head + ad + service_data
    if len(out) > 31:
        raise ValueError("advert is %d bytes, more than 31" % len(out))
    return out
