"""Per-device advertisement rate and "unavailable" after an interval learned for that device.

A heat node that advertises every 10 s and one that advertises every 5 min must not share one
timeout. Each device's interval is a running estimate (EWMA of the gaps, repeats within a
second counted as one burst); it is unavailable once silent for MISSES intervals. Pure: time in.
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHA = 0.2  # weight of the newest gap in the interval estimate
BURST_S = 1.0  # gaps shorter than this are repeats of one advert, not the interval
MISSES = 3.0  # unavailable after this many intervals without a word
MIN_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 6 * 3600.0
FIRST_TIMEOUT_S = 300.0  # before two bursts have been heard, nothing is known


@dataclass(slots=True)
class _Dev:
    first: float
    last: float
    burst: float  # start of the current burst
    interval: float | None = None
    count: int = 1


class Presence:
    def __init__(self) -> None:
        self._d: dict[str, _Dev] = {}

    def seen(self, address: str, ts: float) -> None:
        d = self._d.get(address)
        if d is None:
            self._d[address] = _Dev(ts, ts, ts)
            return
        d.count += 1
        gap = ts - d.burst
        if gap >= BURST_S:
            d.interval = gap if d.interval is None else (1 - ALPHA) * d.interval + ALPHA * gap
            d.burst = ts
        d.last = max(d.last, ts)

    def shift(self, delta_s: float) -> None:
        """The wall clock was stepped: every remembered time moves with it."""
        for d in self._d.values():
            d.first += delta_s
            d.last += delta_s
            d.burst += delta_s

    def state(self) -> dict[str, list[float | None]]:
        return {a: [d.first, d.last, d.burst, d.interval, d.count] for a, d in self._d.items()}

    def restore(self, state: dict[str, list[float | None]]) -> None:
        for a, (first, last, burst, interval, count) in state.items():
            self._d[a] = _Dev(float(first), float(last), float(burst),  # type: ignore[arg-type]
                              None if interval is None else float(interval), int(count or 1))

    def interval(self, address: str) -> float | None:
        d = self._d.get(address)
        return None if d is None else d.interval

    def timeout(self, address: str) -> float:
        iv = self.interval(address)
        if iv is None:
            return FIRST_TIMEOUT_S
        return min(MAX_TIMEOUT_S, max(MIN_TIMEOUT_S, MISSES * iv))

    def rate_per_min(self, address: str, now: float) -> float:
        """Adverts per minute over the time this device has been heard (repeats included)."""
        d = self._d.get(address)
        if d is None:
            return 0.0
        span = max(now - d.first, 1.0)
        return d.count * 60.0 / span

    def available(self, address: str, now: float) -> bool:
        d = self._d.get(address)
        return d is not None and now - d.last <= self.timeout(address)

    def last_seen(self, address: str) -> float | None:
        d = self._d.get(address)
        return None if d is None else d.last

    def unavailable(self, now: float) -> list[str]:
        return [a for a in self._d if not self.available(a, now)]

