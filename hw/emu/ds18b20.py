"""Maxim DS18B20 1-Wire thermometer, at the slot level.

After a reset the chip takes a ROM command (READ 0x33, MATCH 0x55, SKIP 0xCC, SEARCH 0xF0), then
a function command: CONVERT 0x44 (read slots answer 0 until done: 93.75 ms per bit of
resolution above 9), READ SCRATCHPAD 0xBE (9 bytes, CRC last), WRITE SCRATCHPAD 0x4E (TH, TL,
config). Temperature is 1/16 °C two's complement; power-on value 85 °C.
"""

from hw.emu.crc import crc8_maxim

FAMILY = 0x28
_CONV_MS = {0x1F: 94, 0x3F: 188, 0x5F: 375, 0x7F: 750}


class DS18B20:
    def __init__(self, clock, serial=0x000012345678, temperature_c=25.0):
        self._clock = clock
        rom = bytearray(8)
        rom[0] = FAMILY
        for i in range(6):
            rom[1 + i] = (serial >> (8 * i)) & 0xFF
        rom[7] = crc8_maxim(rom, 7)
        self.rom = bytes(rom)
        self.pad = bytearray(b"\x50\x05\x4b\x46\x7f\xff\x0c\x10\x00")  # 85 °C at power-on
        self.pad[8] = crc8_maxim(self.pad, 8)
        self.conversions = 0
        self.corrupt_crc = False  # flip the scratchpad CRC's low bit at each conversion
        self.set(temperature_c)
        self._state = "idle"
        self._in = 0
        self._nbits = 0
        self._out = b""
        self._obit = 0
        self._search = 0
        self._done_at = -1
        self._wpad = 0

    def set(self, temperature_c):
        self.temperature_c = temperature_c
        self._t16 = round(temperature_c * 16)  # floats allocate on MicroPython: convert once

    def _raw(self):
        res = (self.pad[4] >> 5) & 3  # 9..12 bits: the low bits are undefined, read as 0
        return (self._t16 & ~((1 << (3 - res)) - 1)) & 0xFFFF

    def ow_reset(self):
        self._state = "rom"
        self._in = self._nbits = 0
        self._out = b""
        return True

    def _send(self, data):
        self._out = data
        self._obit = 0

    def ow_read_bit(self):
        if self._state == "search":
            i, phase = self._search // 3, self._search % 3
            bit = (self.rom[i // 8] >> (i % 8)) & 1
            if phase == 2:
                return 1
            self._search += 1
            return bit if phase == 0 else bit ^ 1
        if self._state == "converting":
            return 1 if self._clock.now() >= self._done_at else 0
        if self._obit < 8 * len(self._out):
            b = (self._out[self._obit // 8] >> (self._obit % 8)) & 1
            self._obit += 1
            return b
        return 1

    def ow_write_bit(self, bit):
        if self._state == "search":
            i = self._search // 3
            if (self._search % 3) != 2:
                return
            if bit != (self.rom[i // 8] >> (i % 8)) & 1:
                self._state = "idle"  # lost the search: silent until the next reset
                return
            self._search += 1
            if self._search == 192:
                self._state = "function"
            return
        if self._state in ("idle", "converting"):
            return
        self._in |= (bit & 1) << self._nbits
        self._nbits += 1
        if self._nbits == 8:
            byte, self._in, self._nbits = self._in, 0, 0
            self._byte(byte)

    def _byte(self, b):
        st = self._state
        if st == "rom":
            if b == 0xCC:
                self._state = "function"
            elif b == 0x33:
                self._send(self.rom)
                self._state = "function"
            elif b == 0x55:
                self._state = "match"
                self._wpad = 0
            elif b == 0xF0:
                self._state = "search"
                self._search = 0
            else:
                self._state = "idle"
        elif st == "match":
            if b != self.rom[self._wpad]:
                self._state = "idle"
                return
            self._wpad += 1
            if self._wpad == 8:
                self._state = "function"
        elif st == "function":
            if b == 0x44:
                t = self._raw()
                self.pad[0], self.pad[1] = t & 0xFF, t >> 8
                self.pad[8] = crc8_maxim(self.pad, 8) ^ (1 if self.corrupt_crc else 0)
                self.conversions += 1
                self._done_at = self._clock.now() + _CONV_MS[self.pad[4] | 0x1F]
                self._state = "converting"
            elif b == 0xBE:
                self._send(self.pad)  # no copy: reads stay allocation-free
            elif b == 0x4E:
                self._state = "wpad"
                self._wpad = 0
        elif st == "wpad":
            self.pad[2 + self._wpad] = b if self._wpad < 2 else (b & 0x60) | 0x1F
            self._wpad += 1
            if self._wpad == 3:
                self.pad[8] = crc8_maxim(self.pad, 8)
                self._state = "idle"
