"""Meter bridge role: reports the cumulative pulse count over UART and keeps it across reboots.

The total is the flash base (saved at most every save_s, atomically) plus pulses counted since
boot; RTC memory holds the latest total too, so a reset (watchdog, brown-out without power loss)
loses nothing and a power cut loses at most save_s worth of pulses.
"""

import struct

import persist
import pulse_line

_MAGIC = 0x4D4D5042  # "MMPB"


class CountStore:
    def __init__(self, rtc, path):
        self._rtc = rtc
        self._path = path

    def load(self):
        flash = persist.read_int(self._path)
        mem = self._rtc.memory()
        if len(mem) >= 8:
            magic, total = struct.unpack("<II", mem[:8])
            if magic == _MAGIC and total > flash:
                return total
        return flash

    def remember(self, total):
        self._rtc.memory(struct.pack("<II", _MAGIC, total))

    def save(self, total):
        persist.write_int(self._path, total)


class Bridge:
    """now_ms values are time.ticks_ms(), compared only through ticks_diff: the tick counter
    wraps (every 2**30 ms, about 12 days, on the ESP32) and this board never sleeps."""

    def __init__(self, cfg, counter, uart, store, now_ms, ticks_diff):
        self._cfg = cfg
        self.counter = counter
        self._uart = uart
        self._store = store
        self._diff = ticks_diff
        self.base = store.load()
        self.seq = 0
        self._uptime_ms = 0  # a running sum of tick differences: it never wraps back
        self._last_ms = now_ms
        self._saved = self.base
        self._saved_ms = now_ms

    def total(self):
        return (self.base + self.counter.count) & 0xFFFFFFFF

    def report(self, now_ms):
        """Send one line; save to flash when the count moved and save_s has passed."""
        total = self.total()
        self._uptime_ms += self._diff(now_ms, self._last_ms)
        self._last_ms = now_ms
        line = pulse_line.encode(self.seq, total, self._uptime_ms // 1000)
        self._uart.write(line)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        self._store.remember(total)
        if total != self._saved and self._diff(now_ms, self._saved_ms) >= self._cfg["save_s"] * 1000:
            self._store.save(total)
            self._saved, self._saved_ms = total, now_ms
        return line
