"""LIS3DH accelerometer driver for the tag: ±8 g, 100 Hz, free-fall on INT1 to wake the MCU.

Free-fall is the datasheet's AND of the three "low" events (AN3308): every axis below
~350 mg for 60 ms. The MCU then reads samples itself to look for the impact that follows.
"""

from micropython import const

_WHO_AM_I = const(0x0F)
_CTRL_REG1 = const(0x20)
_CTRL_REG3 = const(0x22)
_CTRL_REG4 = const(0x23)
_CTRL_REG5 = const(0x24)
_STATUS = const(0x27)
_OUT_X_L = const(0x28)
_INT1_CFG = const(0x30)
_INT1_SRC = const(0x31)
_INT1_THS = const(0x32)
_INT1_DUR = const(0x33)
_AUTO_INC = const(0x80)
_MG_PER_DIGIT = const(4)  # ±8 g, high-resolution (12-bit) mode
_THS_MG = const(62)  # INT1_THS LSB at ±8 g


class LIS3DH:
    def __init__(self, i2c, address=0x18):
        self.i2c = i2c
        self.address = address
        self._b1 = bytearray(1)
        self._xyz = bytearray(6)
        self.x = self.y = self.z = 0  # mg

    def _w(self, reg, val):
        self._b1[0] = val
        self.i2c.writeto_mem(self.address, reg, self._b1)

    def _r(self, reg):
        self.i2c.readfrom_mem_into(self.address, reg, self._b1)
        return self._b1[0]

    def init(self, freefall_mg=350, freefall_ms=60):
        if self._r(_WHO_AM_I) != 0x33:
            raise OSError(19)
        self._w(_CTRL_REG1, 0x57)  # 100 Hz, normal power, X/Y/Z on
        self._w(_CTRL_REG4, 0x28)  # ±8 g, high resolution
        self._w(_CTRL_REG5, 0x08)  # latch INT1 until INT1_SRC is read
        self._w(_INT1_THS, max(1, freefall_mg // _THS_MG))
        self._w(_INT1_DUR, max(1, freefall_ms // 10))  # in 1/ODR steps
        self._w(_INT1_CFG, 0x95)  # AND of X, Y, Z low: free-fall
        self._w(_CTRL_REG3, 0x40)  # IA1 drives the INT1 pin

    def interrupt_source(self):
        """INT1_SRC (bit 6 = active); reading it releases the latched pin."""
        return self._r(_INT1_SRC)

    def ready(self):
        return bool(self._r(_STATUS) & 0x08)

    def read(self):
        b = self._xyz
        self.i2c.readfrom_mem_into(self.address, _OUT_X_L | _AUTO_INC, b)
        self.x = _mg(b[0], b[1])
        self.y = _mg(b[2], b[3])
        self.z = _mg(b[4], b[5])


def _mg(lo, hi):
    v = (hi << 8) | lo
    if v & 0x8000:
        v -= 0x10000
    return (v >> 4) * _MG_PER_DIGIT  # left-justified 12-bit
