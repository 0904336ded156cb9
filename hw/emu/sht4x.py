"""Sensirion SHT4x (SHT40/41/45) air temperature and humidity, at the command level.

Datasheet: a measure command starts a conversion; reading before it ends is NACKed; the answer is
T msb, T lsb, CRC, RH msb, RH lsb, CRC with T = -45 + 175*S_T/65535, RH = -6 + 125*S_RH/65535.
"""

from hw.emu.crc import crc8_sensirion

ADDRESS = 0x44
_DURATION_MS = {0xFD: 9, 0xF6: 5, 0xE0: 2}  # high/medium/low repeatability, datasheet maxima
_SERIAL = 0x89
_RESET = 0x94


def raw_temperature(t_c):
    return max(0, min(65535, round((t_c + 45.0) * 65535 / 175.0)))


def raw_humidity(rh):
    return max(0, min(65535, round((rh + 6.0) * 65535 / 125.0)))


class SHT4x:
    def __init__(self, clock, serial=0x0B1E55ED, temperature_c=25.0, humidity=50.0):
        self._clock = clock
        self._serial = serial
        self._out = bytearray(6)
        self._ready_at = -1  # no result pending
        self._pos = 0
        self._cmd = -1
        self.measurements = 0
        self.corrupt_crc = False
        self.set(temperature_c, humidity)

    def set(self, temperature_c, humidity):
        self._t = raw_temperature(temperature_c)
        self._rh = raw_humidity(humidity)

    def _fill(self, hi, lo):
        b = self._out
        b[0], b[1] = hi >> 8, hi & 0xFF
        b[2] = crc8_sensirion(b, 2)
        b[3], b[4] = lo >> 8, lo & 0xFF
        b[5] = crc8_sensirion(b, 2, 3)
        if self.corrupt_crc:  # line noise on the bus: the firmware must notice
            b[2] ^= 0x01

    def i2c_begin(self, read):
        if not read:
            self._cmd = -1
            return True
        if self._ready_at < 0 or self._clock.now() < self._ready_at:
            return False  # still measuring (or nothing asked): NACK
        self._pos = 0
        return True

    def i2c_write(self, byte):
        self._cmd = byte
        if byte in _DURATION_MS:
            self._fill(self._t, self._rh)
            self._ready_at = self._clock.now() + _DURATION_MS[byte]
            self.measurements += 1
        elif byte == _SERIAL:
            self._fill(self._serial >> 16, self._serial & 0xFFFF)
            self._ready_at = self._clock.now() + 1
        elif byte == _RESET:
            self._ready_at = -1
        else:
            return False
        return True

    def i2c_read(self):
        if self._pos >= 6:
            return 0xFF
        b = self._out[self._pos]
        self._pos += 1
        if self._pos == 6:
            self._ready_at = -1  # one result per command
        return b

    def i2c_end(self):
        pass
