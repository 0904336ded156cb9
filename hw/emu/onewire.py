"""A 1-Wire bus at the bit level (wired-AND of every device), with the onewire.OneWire methods.

MicroPython's ESP32 port ships `onewire.OneWire(pin)`; the firmware tests hand this class to the
firmware in its place, so the drivers above it speak real 1-Wire slots to emulated chips.
"""

from hw.emu.crc import crc8_maxim


class OneWireError(Exception):
    pass


class OneWireBus:
    SEARCH_ROM = 0xF0
    MATCH_ROM = 0x55
    SKIP_ROM = 0xCC

    def __init__(self):
        self.devices = []
        self.resets = 0

    def attach(self, device):
        self.devices.append(device)
        return device

    def reset(self, required=False):
        self.resets += 1
        present = False
        for d in self.devices:
            present = d.ow_reset() or present
        if required and not present:
            raise OneWireError()
        return present

    def readbit(self):
        bit = 1  # the pull-up wins unless a device pulls low
        for d in self.devices:
            bit &= d.ow_read_bit()
        return bit

    def writebit(self, value):
        for d in self.devices:
            d.ow_write_bit(value & 1)

    def readbyte(self):
        v = 0
        for i in range(8):
            v |= self.readbit() << i
        return v

    def writebyte(self, value):
        for i in range(8):
            self.writebit((value >> i) & 1)

    def readinto(self, buf):
        for i in range(len(buf)):
            buf[i] = self.readbyte()

    def write(self, buf):
        for b in buf:
            self.writebyte(b)

    def select_rom(self, rom):
        self.reset()
        self.writebyte(self.MATCH_ROM)
        self.write(rom)

    def crc8(self, data):
        return crc8_maxim(data)

    def scan(self):
        """The Search ROM algorithm (Maxim AN187), one triplet per ROM bit."""
        found = []
        last_diff = -1
        rom = bytearray(8)
        while True:
            if not self.reset():
                return found
            self.writebyte(self.SEARCH_ROM)
            diff = -1
            for i in range(64):
                a, b = self.readbit(), self.readbit()
                if a and b:
                    return found  # nobody answered
                if a != b:
                    bit = a
                else:
                    prev = (rom[i // 8] >> (i % 8)) & 1
                    bit = 1 if i == last_diff else (prev if i < last_diff else 0)
                    if not bit:
                        diff = i
                if bit:
                    rom[i // 8] |= 1 << (i % 8)
                else:
                    rom[i // 8] &= ~(1 << (i % 8))
                self.writebit(bit)
            found.append(bytes(rom))
            last_diff = diff
            if last_diff < 0:
                return found
