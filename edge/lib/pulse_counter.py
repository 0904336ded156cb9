"""Meter pulse counting from a GPIO interrupt, with debounce.

The handler runs as a hard IRQ: it may not allocate, so it only reads the tick counter and the
pin and updates small integers created in __init__. An edge closer than debounce_ms to the last
counted one is contact bounce; an edge whose level is already gone is a spike.
"""


class PulseCounter:
    def __init__(self, pin, debounce_ms, ticks_ms, ticks_diff, active=0):
        self._pin = pin
        self._debounce = debounce_ms
        self._ticks_ms = ticks_ms
        self._ticks_diff = ticks_diff
        self._active = active
        self._last = ticks_ms() - debounce_ms  # so the very first pulse counts
        self.count = 0  # since boot; small enough never to become a long int between saves
        self.rejected = 0

    def irq(self, pin):
        now = self._ticks_ms()
        if self._pin.value() != self._active:
            self.rejected += 1
        elif self._ticks_diff(now, self._last) < self._debounce:
            self.rejected += 1
        else:
            self._last = now
            self.count += 1
