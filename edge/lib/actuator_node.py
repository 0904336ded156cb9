"""Actuator role: a mist sprayer or fan on a relay, switched by commands over UART, with the
interlocks enforced here, on the device, whatever the gateway or collector send:

- the manual override switch (a person on site) forces off and refuses on;
- outside the schedule window (local hours from the RTC) on is refused;
- a wind speed in the command above wind_max_dms refuses on (mist drifts onto the street);
- humidity from the device's own SHT4x above rh_max refuses on, and switches off while on;
- max_on_s: the relay goes off by itself after at most this long;
- min_off_s: after going off it stays off this long (rate limit for the pump and the relay).

now_ms are time.ticks_ms() values compared only through ticks_diff (the counter wraps).
"""

import actuator_line
from sht4x import WAIT_MS, centi_rh


class Actuator:
    def __init__(self, cfg, relay, override, sht, uart, now_ms, ticks_diff, sleep_ms, hour):
        self._cfg = cfg
        self._relay = relay
        self._override = override
        self._sht = sht
        self._uart = uart
        self._diff = ticks_diff
        self._sleep = sleep_ms
        self._hour = hour
        self._active = 1 if cfg["relay_active"] == "high" else 0
        self._override_level = 0 if cfg["override_active"] == "low" else 1
        self.on = False
        self._on_at = now_ms
        self._hold_ms = 0
        # Boot counts as a switch-off: a device that resets in a loop (brown-out when the pump
        # starts, a crash) cannot cycle the relay faster than min_off_s.
        self._off_at = now_ms
        self._buf = b""
        self.seq = 0
        self.rh_centi = -1
        self.rejected_lines = 0
        self._set(False)

    def _set(self, on):
        self._relay.value(self._active if on else 1 - self._active)

    def overridden(self):
        return self._override.value() == self._override_level

    def humidity(self):
        """Measure now; -1 when the sensor does not answer or its CRC is wrong."""
        try:
            self._sht.start()
            self._sleep(WAIT_MS)
            ok = self._sht.read()
        except OSError:
            ok = False
        self.rh_centi = centi_rh(self._sht.rh_raw) if ok else -1
        return self.rh_centi

    def _in_schedule(self):
        h, a, b = self._hour(), self._cfg["on_from_h"], self._cfg["on_until_h"]
        return a <= h < b if a <= b else (h >= a or h < b)

    def switch_on(self, hold_s, wind_dms, now_ms):
        """None when switched (or kept) on, else the reason word for refusing."""
        if self.overridden():
            return b"override"
        if not self._in_schedule():
            return b"schedule"
        if wind_dms > self._cfg["wind_max_dms"]:
            return b"wind"
        rh = self.humidity()
        if rh < 0:
            return b"sensor"
        if rh > self._cfg["rh_max"] * 100:
            return b"humidity"
        if not self.on and self._diff(now_ms, self._off_at) < self._cfg["min_off_s"] * 1000:
            return b"rate"
        limit = self._cfg["max_on_s"]
        hold = limit if hold_s == 0 or hold_s > limit else hold_s
        if not self.on:
            self.on = True
            self._on_at = now_ms
            self._set(True)
        # A repeated "on" extends the hold from now, never past max_on_s from switching on.
        left = limit * 1000 - self._diff(now_ms, self._on_at)
        self._hold_ms = self._diff(now_ms, self._on_at) + min(hold * 1000, left)
        return None

    def switch_off(self, now_ms):
        if self.on:
            self.on = False
            self._off_at = now_ms
        self._set(False)

    def command(self, line, now_ms):
        """Handle one command line; return the ack line written (None for a bad line)."""
        cmd = actuator_line.parse_command(line)
        if cmd is None:
            self.rejected_lines += 1
            return None
        cid, on, hold_s, wind = cmd
        reason = self.switch_on(hold_s, wind, now_ms) if on else self.switch_off(now_ms)
        out = actuator_line.ack(cid, b"refused" if reason else b"done", reason, self.on)
        self._uart.write(out)
        return out

    def feed(self, data, now_ms):
        """Bytes from the UART: run every complete command line; drop noise and long lines."""
        self._buf += data
        acks = []
        while True:
            i = self._buf.find(b"\n")
            if i < 0:
                break
            line, self._buf = self._buf[:i + 1], self._buf[i + 1:]
            if line.strip():
                out = self.command(line, now_ms)
                if out:
                    acks.append(out)
        if len(self._buf) > actuator_line.MAX_LINE:
            self.rejected_lines += 1
            self._buf = b""
        return acks

    def on_s(self, now_ms):
        return self._diff(now_ms, self._on_at) // 1000 if self.on else 0

    def tick(self, now_ms, measure=False):
        """The interlocks that act on their own: override, max on-time, humidity while on."""
        if self.on:
            if self.overridden() or self._diff(now_ms, self._on_at) >= self._hold_ms:
                self.switch_off(now_ms)
            elif measure:
                rh = self.humidity()
                if rh < 0 or rh > self._cfg["rh_max"] * 100:
                    self.switch_off(now_ms)
        elif measure:
            self.humidity()

    def report(self, now_ms):
        out = actuator_line.state(self.seq, self.on, self.rh_centi, self.overridden(),
                                  self.on_s(now_ms))
        self._uart.write(out)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return out
