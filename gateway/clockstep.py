"""Wall-clock steps, told from the monotonic clock: a Pi without an RTC boots with a stale time
and NTP steps it later; a step must not close hundreds of windows or look like an absence.

Pure: both clocks are passed in. Between two observations the wall clock should advance as much
as the monotonic clock (times the sim's speed); a difference beyond the tolerance is a step.
"""

from __future__ import annotations

TOLERANCE_S = 5.0  # NTP slews small errors; anything this large was stepped


class StepDetector:
    def __init__(self, speed: float = 1.0, tolerance_s: float = TOLERANCE_S):
        self.speed = speed
        self.tolerance = tolerance_s * speed
        self._prev: tuple[float, float] | None = None

    def observe(self, wall: float, mono: float) -> float:
        """The step (s of wall time, + forward) since the previous observation, else 0."""
        prev, self._prev = self._prev, (wall, mono)
        if prev is None:
            return 0.0
        step = (wall - prev[0]) - (mono - prev[1]) * self.speed
        return step if abs(step) > self.tolerance else 0.0
