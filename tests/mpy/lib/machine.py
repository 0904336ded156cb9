"""Fake `machine` for firmware tests: the parts the firmware touches, backed by hw/ emulators.

Tests wire it up through the module globals (i2c_buses, onewire in the `onewire` fake, adc_uv,
rtc_memory, …) and read back what the firmware did (uart_out, deep sleeps as exceptions).
"""

DEEPSLEEP_RESET = 4
PWRON_RESET = 1
TIMER_WAKE = 4
PIN_WAKE = 2
EXT1_WAKE = 3

i2c_buses = {}
adc_uv = {}
levels = {}
pins = {}
uart_out = {}
uart_in = {}  # id -> bytearray the outside world sent to the device (read by UART.read)
rtc_memory = bytearray()
reset = {"cause": PWRON_RESET, "wake": 0}


class DeepSleep(Exception):
    """Raised where the device would power down; .args[0] is the sleep in ms."""


def deepsleep(ms=0):
    raise DeepSleep(ms)


def reset_cause():
    return reset["cause"]


def wake_reason():
    return reset["wake"]


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 2
    IRQ_RISING = 1

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self.handler = None
        self.trigger = 0
        if value is not None:
            levels[id] = value
        elif id not in levels:
            levels[id] = 1 if pull == self.PULL_UP else 0
        pins[id] = self

    def value(self, v=None):
        if v is None:
            return levels[self.id]
        levels[self.id] = v

    def on(self):
        levels[self.id] = 1

    def off(self):
        levels[self.id] = 0

    def irq(self, handler=None, trigger=3, hard=False):
        self.handler = handler
        self.trigger = trigger


def drive(pin_id, level):
    """The outside world changes a pin: fire its IRQ handler on a matching edge."""
    old = levels.get(pin_id, 0)
    levels[pin_id] = level
    p = pins.get(pin_id)
    if p is not None and p.handler is not None and old != level:
        if (level == 0 and p.trigger & Pin.IRQ_FALLING) or (level == 1 and p.trigger & Pin.IRQ_RISING):
            p.handler(p)


def I2C(id, scl=None, sda=None, freq=400000):
    return i2c_buses[id]


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self._id = pin.id

    def read_uv(self):
        return adc_uv[self._id]


class RTC:
    def memory(self, data=None):
        global rtc_memory
        if data is None:
            return bytes(rtc_memory)
        rtc_memory = bytearray(data)


class UART:
    def __init__(self, id, baudrate=9600, tx=None, rx=None):
        self.id = id
        uart_out.setdefault(id, bytearray())

    def write(self, data):
        uart_out[self.id].extend(data)
        return len(data)

    def read(self, n=-1):
        buf = uart_in.get(self.id)
        if not buf:
            return None
        n = len(buf) if n < 0 else n
        out = bytes(buf[:n])
        uart_in[self.id] = buf[n:]
        return out
