"""Sensor-fault kernels: out of range, stuck, spike, dropout and disagreement with neighbours.

Flags are bits so that one int per reading says everything wrong with it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

OUT_OF_RANGE, STUCK, SPIKE, DROPOUT = 1, 2, 4, 8
# per-sensor streaming state: last value, run length of that value, EWMA mean, EWMA |dev|, n,
# consecutive spikes (a run of them is a new level, not a spike)
F_LAST, F_RUN, F_MEAN, F_DEV, F_N, F_SPIKES = range(6)
FAULT_STATE_SIZE = 6
# consecutive spikes after which the sensor is taken to read a new level and learning resumes
SHIFT_AFTER = 5


def new_fault_state(n_sensors: int = 1) -> np.ndarray:
    st = np.zeros((n_sensors, FAULT_STATE_SIZE))
    st[:, F_LAST] = np.nan
    return st


@njit(cache=True)
def fault_flags(x: np.ndarray, lo: float, hi: float, stuck_after: int, spike_k: float,
                alpha: float, st: np.ndarray) -> np.ndarray:
    """Flags for consecutive readings of one sensor; `st` (FAULT_STATE_SIZE floats) carries over.

    Plain reading: NaN → DROPOUT; outside [lo, hi] → OUT_OF_RANGE (and not learnt from);
    the same value `stuck_after` times in a row → STUCK; |x − mean| > spike_k·dev (EWMA mean
    and mean absolute deviation, after 30 readings) → SPIKE, and spikes do not move the mean.

    Two things must not teach the spike test a false "normal": a stuck run is not learnt from
    (its zero deviation would make every later change a spike), and SHIFT_AFTER spikes in a row
    are a new level (a sensor back from being stuck, a node moved into the sun): the mean jumps
    to it and the deviation is widened to the step's size, so the next ordinary change is not
    a spike; only the step's first SHIFT_AFTER − 1 readings are flagged.
    """
    out = np.zeros(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        v = x[i]
        if not math.isfinite(v):
            out[i] = DROPOUT
            continue
        if v < lo or v > hi:
            out[i] = OUT_OF_RANGE
            continue
        f = 0
        if v == st[F_LAST]:
            st[F_RUN] += 1.0
        else:
            st[F_RUN] = 1.0
        st[F_LAST] = v
        if st[F_RUN] >= stuck_after:
            f |= STUCK
        if st[F_N] == 0:
            st[F_MEAN] = v
        d = v - st[F_MEAN]
        if st[F_N] >= 30 and abs(d) > spike_k * max(st[F_DEV], 1e-9):
            st[F_SPIKES] += 1.0
            if st[F_SPIKES] < SHIFT_AFTER:
                f |= SPIKE
            else:  # a level, not a spike: learn it
                st[F_MEAN] = v
                st[F_DEV] = max(st[F_DEV], abs(d) / spike_k)
                st[F_SPIKES] = 0.0
        else:
            st[F_SPIKES] = 0.0
            if st[F_RUN] < stuck_after:
                st[F_MEAN] += alpha * d
                st[F_DEV] += alpha * (abs(d) - st[F_DEV])
        st[F_N] += 1.0
        out[i] = f
    return out


@njit(cache=True)
def silent(last_seen: np.ndarray, now: float, max_gap: np.ndarray) -> np.ndarray:
    """Which sensors have said nothing for longer than their allowed gap (seconds)."""
    out = np.empty(last_seen.shape[0], dtype=np.bool_)
    for i in range(last_seen.shape[0]):
        out[i] = now - last_seen[i] > max_gap[i]
    return out


@njit(cache=True)
def neighbour_disagreement(values: np.ndarray, reference: np.ndarray,
                           min_refs: int) -> np.ndarray:
    """Per node: value minus the median of the *other* reference nodes (e.g. shaded air
    temperature nodes nearby); NaN when fewer than `min_refs` references report. A node reading
    a few °C above that is the signature of a radiation error (sun on the shield); the caller
    compares with its limit, so the event can say how far off the node is.
    """
    n = values.shape[0]
    out = np.full(n, np.nan)
    buf = np.empty(n)
    for i in range(n):
        if not math.isfinite(values[i]):
            continue
        k = 0
        for j in range(n):
            if j != i and reference[j] and math.isfinite(values[j]):
                buf[k] = values[j]
                k += 1
        if k >= min_refs:
            out[i] = values[i] - np.median(buf[:k])
    return out
