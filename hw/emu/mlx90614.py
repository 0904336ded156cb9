"""Melexis MLX90614 infrared thermometer, at the SMBus level.

RAM 0x06 is the die (ambient) temperature, 0x07 the object temperature, both 0.02 K per LSB;
a read word answers LSB, MSB, PEC where PEC is CRC-8 (0x07) over address+W, command,
address+R, LSB, MSB (datasheet 8.4.3). Bit 15 set flags an error in the object channel.
"""

from hw.emu.crc import crc8_smbus

ADDRESS = 0x5A
RAM_TA = 0x06
RAM_TOBJ1 = 0x07
_EEPROM_EMISSIVITY = 0x24  # EEPROM access is command 0x20 | address


def raw_kelvin50(t_c):
    return max(0, min(0x7FFF, round((t_c + 273.15) * 50)))


class MLX90614:
    def __init__(self, address=ADDRESS, object_c=30.0, ambient_c=25.0):
        self.address = address
        self._words = {RAM_TA: 0, RAM_TOBJ1: 0, _EEPROM_EMISSIVITY: 0xFFFF}
        self._cmd = -1
        self._reply = bytearray(3)
        self._pos = 0
        self._hdr = bytearray(3)
        self.corrupt_crc = False  # flip the PEC's low bit, as line noise would
        self.set(object_c, ambient_c)

    def set(self, object_c, ambient_c=25.0, error=False):
        self._words[RAM_TOBJ1] = raw_kelvin50(object_c) | (0x8000 if error else 0)
        self._words[RAM_TA] = raw_kelvin50(ambient_c)

    def i2c_begin(self, read):
        if read:
            if self._cmd not in self._words:
                return False
            w = self._words[self._cmd]
            r = self._reply
            r[0], r[1] = w & 0xFF, w >> 8
            h = self._hdr
            h[0], h[1], h[2] = self.address << 1, self._cmd, (self.address << 1) | 1
            r[2] = crc8_smbus(r, 2, crc8_smbus(h)) ^ (1 if self.corrupt_crc else 0)
            self._pos = 0
        else:
            self._cmd = -1
        return True

    def i2c_write(self, byte):
        if self._cmd < 0:
            self._cmd = byte
            return True
        return False  # EEPROM writes are not emulated

    def i2c_read(self):
        if self._pos >= 3:
            return 0xFF
        b = self._reply[self._pos]
        self._pos += 1
        return b

    def i2c_end(self):
        pass
