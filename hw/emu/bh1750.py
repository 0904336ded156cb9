"""ROHM BH1750FVI ambient light sensor, at the opcode level.

Opcodes: 0x00 power down, 0x01 power on, 0x07 reset, 0x1x continuous / 0x2x one-time with x=0
H-resolution, 1 H-resolution mode 2, 3 L-resolution; 0x40|MT[7:5] and 0x60|MT[4:0] set the
measurement time register (default 69). The answer is two bytes, big-endian:
count = lux * 1.2 * MT/69 (H mode; twice that in H mode 2, where one count is 0.5 lx).
"""

ADDRESS = 0x23  # ADDR pin low; 0x5C when high
_MEAS_MS = {0: 180, 1: 180, 3: 24}  # datasheet maxima at MT=69


class BH1750:
    def __init__(self, clock, lux=1000.0):
        self._clock = clock
        self._powered = False
        self._mt = 69
        self._mode = -1
        self._one_time = False
        self._ready_at = -1
        self._value = 0
        self._out = bytearray(2)
        self._pos = 0
        self._key = -1
        self._cached = 0
        self.set(lux)

    def set(self, lux):
        self.lux = lux
        self._key = -1

    def _count(self):
        # Floats allocate on MicroPython: recompute only when the mode or MTreg changed.
        key = (self._mt << 2) | self._mode
        if key != self._key:
            res = 2.0 if self._mode == 1 else 1.0
            self._cached = max(0, min(0xFFFF, int(self.lux * 1.2 * self._mt / 69.0 * res)))
            self._key = key
        return self._cached

    def i2c_begin(self, read):
        if read:
            now = self._clock.now()
            if self._ready_at >= 0 and now >= self._ready_at:
                self._value = self._count()
                if self._one_time:
                    self._powered = False  # one-time modes power down after measuring
                    self._ready_at = -1
                else:
                    self._ready_at = now + _MEAS_MS[self._mode] * self._mt // 69
            self._out[0], self._out[1] = self._value >> 8, self._value & 0xFF
            self._pos = 0
        return True

    def i2c_write(self, op):
        if op == 0x00:
            self._powered = False
        elif op == 0x01:
            self._powered = True
        elif op == 0x07:
            if self._powered:
                self._value = 0
        elif op & 0xF8 == 0x40:
            self._mt = (self._mt & 0x1F) | ((op & 0x07) << 5)
        elif op & 0xE0 == 0x60:
            self._mt = (self._mt & 0xE0) | (op & 0x1F)
        elif op & 0xCC == 0x00 and (op & 0x30) in (0x10, 0x20) and (op & 0x03) in _MEAS_MS:
            self._powered = True
            self._mode = op & 0x03
            self._one_time = bool(op & 0x20)
            self._ready_at = self._clock.now() + _MEAS_MS[self._mode] * self._mt // 69
        else:
            return False
        return True

    def i2c_read(self):
        b = self._out[self._pos & 1]
        self._pos += 1
        return b

    def i2c_end(self):
        pass
