"""MLX90614 infrared (surface) thermometer driver: SMBus read word with PEC check."""

from micropython import const

_RAM_TOBJ1 = const(0x07)
_RAM_TA = const(0x06)
ERROR_FLAG = const(0x8000)  # set by the chip when the object reading is invalid


def _crc_byte(crc, b):
    # SMBus PEC: CRC-8, polynomial 0x07.
    crc ^= b
    for _ in range(8):
        crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class MLX90614:
    def __init__(self, i2c, address=0x5A):
        self.i2c = i2c
        self.address = address
        self._buf = bytearray(3)
        self.raw = 0  # 0.02 K per LSB

    def _read(self, cmd):
        b = self._buf
        self.i2c.readfrom_mem_into(self.address, cmd, b)
        a = self.address << 1
        crc = _crc_byte(_crc_byte(_crc_byte(0, a), cmd), a | 1)
        crc = _crc_byte(_crc_byte(crc, b[0]), b[1])
        if crc != b[2]:
            return -1
        return b[0] | (b[1] << 8)

    def read(self):
        """Object temperature into raw; False on a PEC error or the chip's error flag."""
        w = self._read(_RAM_TOBJ1)
        if w < 0 or w & ERROR_FLAG:
            return False
        self.raw = w
        return True

    def ambient_raw(self):
        return self._read(_RAM_TA)


def centi_c(raw_sum, n=1):
    """Mean in 0.01 °C: T = raw * 0.02 K - 273.15."""
    return (raw_sum * 2 + n // 2) // n - 27315
