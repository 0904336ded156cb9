"""Wearable tag role: what one wake does, with the hardware passed in so tests can emulate it.

A wake comes from the timer (advertise the current EID), the SOS button (raise SOS, count an
event) or the accelerometer's free-fall interrupt (read samples, confirm a fall, count an
event). SOS and fall stay set in every advert for a hold time so a gateway that missed the
first burst still hears them; the event counter lets receivers tell a new event from a repeat.
"""

import struct

import advertiser
import battery
import eid
from fall import FALL, IDLE, FallDetector

_MAGIC = 0x4D4D5447  # "MMTG"
_ADDR_NRPA = 3  # non-resolvable private address, new at every wake (docs/tag-format.md)


class TagState:
    """Kept in RTC memory across deep sleep: events (8 bits, wraps), hold-until times."""

    def __init__(self, rtc):
        self._rtc = rtc
        self.events = 0
        self.sos_until = 0
        self.fall_until = 0
        mem = rtc.memory()
        if len(mem) >= 16:
            magic, ev, sos, fall = struct.unpack("<IIII", mem[:16])
            if magic == _MAGIC:
                self.events, self.sos_until, self.fall_until = ev & 0xFF, sos, fall

    def save(self):
        self._rtc.memory(struct.pack("<IIII", _MAGIC, self.events, self.sos_until, self.fall_until))

    def flags(self, now, battery_low):
        f = eid.FLAG_BATTERY_LOW if battery_low else 0
        if now < self.sos_until:
            f |= eid.FLAG_SOS
        if now < self.fall_until:
            f |= eid.FLAG_FALL
        return f


def confirm_fall(accel, now_ms, sleep_ms, max_ms=3500):
    """After a free-fall interrupt: read samples (100 Hz) until the detector decides."""
    det = FallDetector()
    det.freefall(now_ms)
    t = now_ms
    while t - now_ms < max_ms:
        if accel.ready():
            accel.read()
            st = det.feed(t, accel.x, accel.y, accel.z)
            if st == FALL:
                return True
            if st == IDLE:
                return False
        sleep_ms(10)
        t += 10
    return False


def wake(cfg, dev, state, unix_now, button, freefall):
    """Handle one wake; returns the advert payload sent. `button`/`freefall`: what woke us."""
    if button:
        state.events = (state.events + 1) & 0xFF
        state.sos_until = unix_now + cfg["sos_hold_s"]
    if freefall and confirm_fall(dev.accel, 0, dev.sleep_ms):
        state.events = (state.events + 1) & 0xFF
        state.fall_until = unix_now + cfg["fall_hold_s"]
    pct = dev.battery_pct
    flags = state.flags(unix_now, pct is not None and pct < battery.LOW_PERCENT)
    frame = eid.frame(dev.key, unix_now, cfg["rotation_k"], flags, 0 if pct is None else pct,
                      state.events)
    payload = eid.adv_payload(frame)
    dev.ble.config(addr_mode=_ADDR_NRPA)
    urgent = flags & (eid.FLAG_SOS | eid.FLAG_FALL)
    # An alarm is sent longer and faster so the nearest gateway cannot miss it.
    burst = cfg["burst_ms"] * (10 if urgent else 1)
    interval = 20 if urgent else cfg["adv_interval_ms"]
    advertiser.burst(dev.ble, interval, payload, burst, dev.sleep_ms)
    state.save()
    return payload
