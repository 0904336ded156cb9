"""Fall detection: free-fall (from the accelerometer's INT1), then an impact, then stillness.

A state machine fed one sample at a time (mg, integer math on squared magnitudes), so the tag can
run it on the samples it reads after INT1 wakes it. Thresholds follow the usual wearable
literature: impact above 2.5 g within 1 s of the free-fall, then 2 s without large motion.
"""

from micropython import const

IDLE = const(0)
FREEFALL = const(1)
IMPACT = const(2)
FALL = const(3)


class FallDetector:
    def __init__(self, impact_mg=2500, impact_window_ms=1000, still_ms=2000, still_mg=300):
        self._impact2 = impact_mg * impact_mg
        self._window = impact_window_ms
        self._still_ms = still_ms
        self._still_mg = still_mg
        self.state = IDLE
        self._t = 0

    def freefall(self, now_ms):
        """INT1 said free-fall: wait for an impact."""
        self.state = FREEFALL
        self._t = now_ms

    def feed(self, now_ms, x, y, z):
        """One sample; returns the state (FALL once a fall is confirmed, IDLE when ruled out)."""
        m2 = x * x + y * y + z * z
        dt = now_ms - self._t
        if self.state == FREEFALL:
            if m2 >= self._impact2:
                self.state = IMPACT
                self._t = now_ms
            elif dt > self._window:
                self.state = IDLE
        elif self.state == IMPACT:
            # Lying still: magnitude stays near 1 g (gravity only).
            lo, hi = 1000 - self._still_mg, 1000 + self._still_mg
            if m2 < lo * lo or m2 > hi * hi:
                if dt > 200:  # settling after the impact is allowed for a short while
                    self.state = IDLE
            elif dt >= self._still_ms:
                self.state = FALL
        return self.state
