"""Counters that must survive deep sleep (RTC memory) and power loss (a file on flash).

RTC memory keeps the value across deep sleep and resets; after a power loss only the flash copy
is left, so the flash holds a *reservation*: the value plus a block. Values handed out never go
back below a value handed out before (an AES-CCM nonce must never repeat), and flash is written
once per block, not once per use.
"""

import struct

_MAGIC = 0x4D4D4331  # "MMC1"


def read_int(path):
    """The integer kept in a flash file; 0 when it is missing or unreadable."""
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def write_int(path, v):
    """Replace the file's integer atomically (littlefs rename: old or new, never half)."""
    import os

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(v))
    os.rename(tmp, path)


class ReservedCounter:
    def __init__(self, rtc, path, block=1024):
        self._rtc = rtc
        self._path = path
        self._block = block
        self.value = 0
        self._reserved = 0
        mem = rtc.memory()
        if len(mem) >= 12:
            magic, value, reserved = struct.unpack("<III", mem[:12])
            if magic == _MAGIC and value <= reserved:
                self.value, self._reserved = value, reserved
                return
        # Power-on: start at the last reservation; values below it may have been used.
        self.value = self._reserved = read_int(self._path)

    def next(self):
        v = self.value
        if v >= self._reserved:
            self._reserved = v + self._block
            write_int(self._path, self._reserved)
        self.value = (v + 1) & 0xFFFFFFFF
        self._rtc.memory(struct.pack("<III", _MAGIC, self.value, self._reserved))
        return v
