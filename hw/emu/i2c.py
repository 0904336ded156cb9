"""An I2C bus with the machine.I2C methods the drivers use, routing bytes to emulated chips.

A device implements i2c_begin(read) -> bool (address ACK), i2c_write(byte) -> bool (data ACK),
i2c_read() -> int and i2c_end(). A NACK raises OSError(ENODEV) as MicroPython's I2C does.
"""

_ENODEV = 19


class I2CBus:
    def __init__(self):
        self._devices = {}
        self.transactions = 0  # counted so tests can see a driver did (or did not) talk

    def attach(self, address, device):
        self._devices[address] = device
        return device

    def detach(self, address):
        self._devices.pop(address, None)

    def _begin(self, addr, read):
        dev = self._devices.get(addr)
        if dev is None or not dev.i2c_begin(read):
            raise OSError(_ENODEV)
        self.transactions += 1
        return dev

    def scan(self):
        return sorted(self._devices)

    def writeto(self, addr, buf, stop=True):
        dev = self._begin(addr, False)
        for i in range(len(buf)):
            if not dev.i2c_write(buf[i]):
                dev.i2c_end()
                raise OSError(_ENODEV)
        if stop:
            dev.i2c_end()
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        dev = self._begin(addr, True)
        for i in range(len(buf)):
            buf[i] = dev.i2c_read()
        if stop:
            dev.i2c_end()

    def readfrom(self, addr, n, stop=True):
        buf = bytearray(n)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        dev = self._begin(addr, False)
        ok = dev.i2c_write(memaddr)
        for i in range(len(buf)):
            ok = ok and dev.i2c_write(buf[i])
        dev.i2c_end()
        if not ok:
            raise OSError(_ENODEV)

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        # Register pointer write, repeated start, read: no stop in between (SMBus read word).
        dev = self._begin(addr, False)
        if not dev.i2c_write(memaddr):
            dev.i2c_end()
            raise OSError(_ENODEV)
        dev = self._begin(addr, True)
        for i in range(len(buf)):
            buf[i] = dev.i2c_read()
        dev.i2c_end()

    def readfrom_mem(self, addr, memaddr, n, addrsize=8):
        buf = bytearray(n)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)


class Clock:
    """Emulated milliseconds shared by chips that take time to measure; tests advance it."""

    def __init__(self, ms=0):
        self.ms = ms

    def now(self):
        return self.ms

    def advance(self, ms):
        self.ms += ms
