"""BH1750 illuminance driver: one-time high-resolution measurements (the chip then powers down)."""

from micropython import const

_ONE_TIME_H = const(0x20)
WAIT_MS = const(180)  # datasheet maximum for H-resolution at the default MTreg


class BH1750:
    def __init__(self, i2c, address=0x23):
        self.i2c = i2c
        self.address = address
        self._cmd = bytearray(1)
        self._buf = bytearray(2)
        self.count = 0

    def start(self):
        self._cmd[0] = _ONE_TIME_H
        self.i2c.writeto(self.address, self._cmd)

    def read(self):
        self.i2c.readfrom_into(self.address, self._buf)
        self.count = (self._buf[0] << 8) | self._buf[1]
        return True


def centi_lux(count_sum, n=1):
    """Mean in 0.01 lx: lux = count / 1.2 (datasheet, H-resolution mode, MTreg 69)."""
    return (count_sum * 1000 + 6 * n) // (12 * n)
