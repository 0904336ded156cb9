"""DS18B20 1-Wire thermometer driver (the black-globe sensor): convert, wait, read scratchpad."""

from micropython import const

_CONVERT = const(0x44)
_READ_PAD = const(0xBE)
_SKIP_ROM = const(0xCC)
_POWER_ON = const(0x0550)
WAIT_MS = const(750)  # 12-bit conversion, datasheet maximum


def _crc8(buf, n):
    # Maxim CRC-8 (x^8+x^5+x^4+1, reflected).
    crc = 0
    for i in range(n):
        b = buf[i]
        for _ in range(8):
            mix = (crc ^ b) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            b >>= 1
    return crc


class DS18B20:
    """One thermometer alone on its pin, so commands use SKIP ROM."""

    def __init__(self, ow):
        self.ow = ow
        self._pad = bytearray(9)
        self.raw = 0  # 1/16 °C, signed

    def convert(self):
        if not self.ow.reset():
            return False
        self.ow.writebyte(_SKIP_ROM)
        self.ow.writebyte(_CONVERT)
        return True

    def read(self):
        """Scratchpad into raw; False when absent, CRC bad, or still converting (reads 0xFF)."""
        if not self.ow.reset():
            return False
        self.ow.writebyte(_SKIP_ROM)
        self.ow.writebyte(_READ_PAD)
        p = self._pad
        self.ow.readinto(p)
        if _crc8(p, 8) != p[8] or p[4] == 0xFF:
            return False
        v = p[0] | (p[1] << 8)
        if v == _POWER_ON:
            return False  # 85 °C is what it holds before any conversion: none happened
        self.raw = v - 0x10000 if v & 0x8000 else v
        return True


def centi_c(raw):
    return (raw * 100 + 8) // 16 if raw >= 0 else -((-raw * 100 + 8) // 16)
