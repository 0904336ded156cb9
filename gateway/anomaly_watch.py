"""The general anomaly detector (gateway/kernels/anomaly.py) on the live series: one detector per
(device, channel), fed one point per summary window — a heat node's mean air and surface
temperature, a household's power. Its score goes into the summary; a score at or above the
alarm level (the detector already damps the repeats of one episode) raises an `anomaly` event.

The detector's `probation` (readings it learns before scoring, and the unit of its rest after an
alarm) is three days of summary windows (LIVE_PROBATION_S): 432 readings at 10-minute windows,
about what NAB's 15 % gives a two-to-three-week file (docs/kernels.md), and 4,320 at the
gateway's default 60-second windows — a fixed count would be three days at one interval and
seven hours at another.

State is plain numpy arrays per series; `snapshot()` / `restore()` turn it into one `.npz`
so that what was learnt survives a restart (written atomically by `save()`, compressed: the
sequence-count tables are mostly zeros, 64 MB → 0.7 MB for 200 series; and only when a window
was scored since the last save, since the daemon calls it at every status period).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .kernels import anomaly

State = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_PARTS = ("st", "slots", "ngrams", "tails")
LIVE_PROBATION_S = 3 * 86400.0
LIVE_PROBATION = 432.0  # readings, at 10-minute windows


def live_probation(interval_s: float) -> float:
    """Readings in LIVE_PROBATION_S at this summary interval (at least 30)."""
    return float(max(30, round(LIVE_PROBATION_S / interval_s)))


class SeriesAnomaly:
    """score(device, end, {channel: value}) -> ({channel: score}, [event bodies])."""

    def __init__(self, tz_offset_s: float = 9 * 3600,
                 params: np.ndarray = anomaly.DEFAULT_PARAMS,
                 interval_s: float = 600.0, probation: float | None = None):
        self.tz_offset_s = tz_offset_s  # time-of-day profiles are local
        self.params = params.copy()
        self.params[anomaly.P_PROBATION] = (live_probation(interval_s) if probation is None
                                            else probation)
        self._dirty = False  # a window scored since the last save
        self.alarm = float(params[anomaly.P_ALARM])
        self.states: dict[str, State] = {}  # key "<device>/<channel>"
        self._t = np.zeros(1)
        self._x = np.zeros(1)
        self._out = np.zeros(1)

    def score(self, device: str, end: float, values: dict[str, float | None],
              **data: Any) -> tuple[dict[str, float], list[dict[str, Any]]]:
        """Feed this window's value of each channel (None / NaN: nothing heard, state kept)."""
        scores: dict[str, float] = {}
        events: list[dict[str, Any]] = []
        for channel, value in values.items():
            if value is None or not math.isfinite(value):
                continue
            key = f"{device}/{channel}"
            st = self.states.get(key)
            if st is None:
                st = self.states[key] = anomaly.new_state(self.params)
            self._t[0] = end + self.tz_offset_s
            self._x[0] = value
            anomaly.detect_batch(self._t, self._x, self.params, *st, self._out)
            self._dirty = True
            s = round(float(self._out[0]), 4)
            scores[channel] = s
            if s >= self.alarm:
                events.append({"channel": channel, "score": s, "value": round(value, 3),
                               **data})
        return scores, events

    # ---- state that survives restarts
    def snapshot(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"params": self.params}
        for i, (key, parts) in enumerate(sorted(self.states.items())):
            out[f"key_{i}"] = np.array(key)
            for name, arr in zip(_PARTS, parts, strict=True):
                out[f"{name}_{i}"] = arr
        return out

    def restore(self, saved: dict[str, np.ndarray]) -> int:
        """Series restored; none when the saved parameters differ (their state means
        something else), and not a series whose arrays are not the shape this kernel keeps: the
        detectors then learn afresh."""
        if "params" not in saved or not np.array_equal(saved["params"], self.params):
            return 0
        shapes = [a.shape for a in anomaly.new_state(self.params)]
        i = restored = 0
        while f"key_{i}" in saved:
            parts = tuple(np.array(saved[f"{name}_{i}"], dtype=np.float64) for name in _PARTS)
            if [a.shape for a in parts] == shapes:  # else not this kernel's state: learn afresh
                self.states[str(saved[f"key_{i}"])] = parts  # type: ignore[assignment]
                restored += 1
            i += 1
        return restored

    def save(self, path: Path) -> bool:
        """Atomically (a temporary file, fsync, rename) when something was learnt since the last
        save or the file is missing; True when written."""
        if not self._dirty and path.exists():
            return False
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez_compressed(fh, **self.snapshot())  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self._dirty = False
        return True

    def load(self, path: Path) -> int:
        """Series restored from `path`; 0 when it is missing or unreadable (then learn again)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                return self.restore({k: z[k] for k in z.files})
        except (OSError, ValueError, KeyError):
            return 0
