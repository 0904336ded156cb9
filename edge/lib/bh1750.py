"""BH1750 illuminance driver: one-time high-resolution measurements (the chip then powers down).

At the default measurement time (MTreg 69) the 16-bit count saturates at 54,612 lx, about half
of noon sun in a Japanese summer (~100 klx). The driver sets MTreg to its minimum, 31, before
every measurement (a brown-out resets it to 69): full scale 65535 / 1.2 × 69 / 31 ≈ 121,556 lx
at 1.85 lx per count, and the measurement takes 180 × 31 / 69 ≈ 81 ms.
"""

from micropython import const

_ONE_TIME_H = const(0x20)
MTREG = const(31)  # the datasheet's minimum: the widest range
_MT_HIGH = const(0x40 | (MTREG >> 5))  # measurement time, bits 7..5
_MT_LOW = const(0x60 | (MTREG & 0x1F))  # measurement time, bits 4..0
WAIT_MS = const(81)  # datasheet maximum for H-resolution (180 ms at MTreg 69), scaled to 31
FULL_SCALE = const(0xFFFF)  # a saturated count: the light is at least this bright


class BH1750:
    def __init__(self, i2c, address=0x23):
        self.i2c = i2c
        self.address = address
        self._cmd = bytearray(1)
        self._buf = bytearray(2)
        self.count = 0

    def start(self):
        cmd = self._cmd
        for op in (_MT_HIGH, _MT_LOW, _ONE_TIME_H):
            cmd[0] = op
            self.i2c.writeto(self.address, cmd)

    def read(self):
        self.i2c.readfrom_into(self.address, self._buf)
        self.count = (self._buf[0] << 8) | self._buf[1]
        return True


def centi_lux(count_sum, n=1):
    """Mean in 0.01 lx: lux = count / 1.2 × 69 / MTreg (datasheet, H-resolution mode)."""
    return (count_sum * 6900 * 10 + 186 * n) // (372 * n)
