"""ST LIS3DH accelerometer, at the register level, with the INT1 inertial (AOI) generator.

Outputs are left-justified two's complement; sensitivity depends on mode and full scale
(datasheet table 4). A sub-address with bit 7 set auto-increments. The INT1 generator compares
each new sample with INT1_THS (LSB per full scale below) on the axes enabled in INT1_CFG, AND
or OR combined, for INT1_DURATION samples; LIR_INT1 latches it until INT1_SRC is read.
"""

ADDRESS = 0x18  # SDO/SA0 low; 0x19 when high
WHO_AM_I = 0x0F
CTRL_REG1 = 0x20
CTRL_REG3 = 0x22
CTRL_REG4 = 0x23
CTRL_REG5 = 0x24
STATUS_REG = 0x27
OUT_X_L = 0x28
INT1_CFG = 0x30
INT1_SRC = 0x31
INT1_THS = 0x32
INT1_DURATION = 0x33

_THS_MG = (16, 32, 62, 186)  # INT1_THS LSB for ±2/4/8/16 g
_MG_HR = (1, 2, 4, 12)  # mg/digit, 12-bit high-resolution mode
_MG_NORMAL = (4, 8, 16, 48)  # 10-bit normal mode
_MG_LP = (16, 32, 64, 192)  # 8-bit low-power mode


class LIS3DH:
    def __init__(self, address=ADDRESS):
        self.address = address
        self.regs = bytearray(0x40)
        self.regs[WHO_AM_I] = 0x33
        self.regs[CTRL_REG1] = 0x07
        self._ptr = 0
        self._first = False
        self._inc = False
        self._queue = []  # samples the MCU will read, in mg
        self._count = 0  # consecutive samples meeting the INT1 condition
        self.int1 = 0  # level of the INT1 pin

    # -- physical side -------------------------------------------------------------------
    def _mode(self):
        fs = (self.regs[CTRL_REG4] >> 4) & 3
        if self.regs[CTRL_REG1] & 0x08:
            return fs, _MG_LP[fs], 8
        if self.regs[CTRL_REG4] & 0x08:
            return fs, _MG_HR[fs], 12
        return fs, _MG_NORMAL[fs], 10

    def _store(self, x, y, z):
        fs, mg, bits = self._mode()
        full = (2, 4, 8, 16)[fs] * 1000
        shift = 16 - bits
        for i, v in enumerate((x, y, z)):
            v = max(-full, min(full - 1, v))
            raw = (int(v / mg) << shift) & 0xFFFF
            self.regs[OUT_X_L + 2 * i] = raw & 0xFF
            self.regs[OUT_X_L + 2 * i + 1] = raw >> 8
        self.regs[STATUS_REG] |= 0x0F  # ZYXDA and each axis

    def _interrupt(self, x, y, z):
        cfg = self.regs[INT1_CFG]
        if not cfg & 0x3F:
            return
        fs = (self.regs[CTRL_REG4] >> 4) & 3
        ths = (self.regs[INT1_THS] & 0x7F) * _THS_MG[fs]
        src = 0
        for i, v in enumerate((x, y, z)):
            if abs(v) > ths:
                src |= 2 << (2 * i)
            else:
                src |= 1 << (2 * i)
        hit = src & cfg & 0x3F
        met = hit == (cfg & 0x3F) if cfg & 0x80 else bool(hit)
        self._count = self._count + 1 if met else 0
        if met and self._count > (self.regs[INT1_DURATION] & 0x7F):
            self.regs[INT1_SRC] = 0x40 | hit
            self.int1 = 1 if self.regs[CTRL_REG3] & 0x40 else self.int1
        elif not self.regs[CTRL_REG5] & 0x08:  # not latched: follows the condition
            self.regs[INT1_SRC] = 0
            self.int1 = 0

    def run(self, samples):
        """Samples measured while nobody reads (the MCU asleep): only the interrupt sees them."""
        for x, y, z in samples:
            self._interrupt(x, y, z)
            self._store(x, y, z)

    def queue(self, samples):
        """Samples the MCU reads one by one (each becomes current when the previous is read)."""
        self._queue.extend(samples)
        self._next()

    def _next(self):
        if self._queue:
            x, y, z = self._queue.pop(0)
            self._interrupt(x, y, z)
            self._store(x, y, z)

    # -- bus side ------------------------------------------------------------------------
    def i2c_begin(self, read):
        self._first = not read
        return True

    def i2c_write(self, byte):
        if self._first:
            self._first = False
            self._ptr = byte & 0x7F
            self._inc = bool(byte & 0x80)
        else:
            if self._ptr in (WHO_AM_I, STATUS_REG, INT1_SRC) or OUT_X_L <= self._ptr < 0x2E:
                return False  # read-only
            self.regs[self._ptr] = byte
            if self._inc:
                self._ptr = (self._ptr + 1) & 0x3F
        return True

    def i2c_read(self):
        p = self._ptr
        b = self.regs[p]
        if p == INT1_SRC:
            self.regs[INT1_SRC] = 0  # reading the source clears a latched interrupt
            self.int1 = 0
        if p == OUT_X_L + 5:
            self.regs[STATUS_REG] &= 0xF0
            self._next()
        if self._inc:
            self._ptr = (p + 1) & 0x3F
        return b

    def i2c_end(self):
        pass
