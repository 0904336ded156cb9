"""The tag advert (machimori/contract/tag.py, docs/tag-format.md): a rotating ephemeral id.

EID = AES-128(key, b"MMEIDv1\\0" + counter BE8)[:8] with counter = unix_time >> K; flags,
battery and event counter are XORed with AES-128(key, b"MMDATv1\\0" + counter)[:3].
"""

import cryptolib
from micropython import const

COMPANY_ID = const(0xFFFF)
VERSION = const(1)
FLAG_SOS = const(0x01)
FLAG_FALL = const(0x02)
FLAG_BATTERY_LOW = const(0x04)


def _block(aes, prefix, counter, out):
    blk = bytearray(16)
    blk[0:8] = prefix
    for i in range(8):
        blk[15 - i] = (counter >> (8 * i)) & 0xFF
    aes.encrypt(blk, out)


def frame(key, unix_time, k, flags, battery, events):
    """The 13 bytes after the company id."""
    c = unix_time >> k
    aes = cryptolib.aes(key, 1)
    e = bytearray(16)
    m = bytearray(16)
    _block(aes, b"MMEIDv1\x00", c, e)
    _block(aes, b"MMDATv1\x00", c, m)
    out = bytearray(13)
    out[0] = VERSION
    out[1] = k
    out[2:10] = e[:8]
    out[10] = (flags & 0xFF) ^ m[0]
    out[11] = (battery & 0xFF) ^ m[1]
    out[12] = (events & 0xFF) ^ m[2]
    return bytes(out)


def adv_payload(frame13):
    """Flags AD + manufacturer-specific AD (company id little-endian): 20 bytes."""
    return bytes((2, 1, 6, 16, 0xFF, COMPANY_ID & 0xFF, COMPANY_ID >> 8)) + frame13
