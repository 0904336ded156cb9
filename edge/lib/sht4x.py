"""SHT4x air temperature / humidity driver: one command, one 6-byte answer with two CRCs."""

from micropython import const

_MEASURE_HIGH = const(0xFD)  # high repeatability, at most 8.3 ms
WAIT_MS = const(9)


def _crc(buf, start):
    # Sensirion CRC-8: polynomial 0x31, init 0xFF, over the two bytes from start.
    crc = 0xFF
    for i in range(start, start + 2):
        crc ^= buf[i]
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class SHT4x:
    def __init__(self, i2c, address=0x44):
        self.i2c = i2c
        self.address = address
        self._cmd = bytearray(1)
        self._buf = bytearray(6)
        self.t_raw = 0
        self.rh_raw = 0

    def start(self):
        self._cmd[0] = _MEASURE_HIGH
        self.i2c.writeto(self.address, self._cmd)

    def read(self):
        """Fetch the result of start() into t_raw / rh_raw; False on a CRC error."""
        b = self._buf
        self.i2c.readfrom_into(self.address, b)
        if _crc(b, 0) != b[2] or _crc(b, 3) != b[5]:
            return False
        self.t_raw = (b[0] << 8) | b[1]
        self.rh_raw = (b[3] << 8) | b[4]
        return True


def _scale(total, n, span):
    # round(span * total / (65535 * n)); runs once per wake, so big ints are fine here.
    d = 65535 * n
    return (2 * span * total + d) // (2 * d)


def centi_c(t_sum, n=1):
    """Mean temperature in 0.01 °C from n summed raw words: T = -45 + 175 * S / 65535."""
    return -4500 + _scale(t_sum, n, 17500)


def centi_rh(rh_sum, n=1):
    """Mean humidity in 0.01 %: RH = -6 + 125 * S / 65535, clipped to 0..100 (datasheet 4.6)."""
    v = -600 + _scale(rh_sum, n, 12500)
    return 0 if v < 0 else 10000 if v > 10000 else v
