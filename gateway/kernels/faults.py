"""Sensor-fault kernels: out of range, stuck, spike, dropout and disagreement with neighbours.

Flags are bits so that one int per reading says everything wrong with it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

OUT_OF_RANGE, STUCK, SPIKE, DROPOUT = 1, 2, 4, 8
# per-sensor streaming state: last value, run length of that value, last good value (the last
# reading that was not a spike), EWMA of |step| between good readings, n, consecutive spikes
# (a run of them is a new level, not a spike)
F_LAST, F_RUN, F_GOOD, F_STEP, F_N, F_SPIKES = range(6)
FAULT_STATE_SIZE = 6
# consecutive spikes after which the sensor is taken to read a new level and learning resumes
SHIFT_AFTER = 5


def new_fault_state(n_sensors: int = 1) -> np.ndarray:
    st = np.zeros((n_sensors, FAULT_STATE_SIZE))
    st[:, F_LAST] = np.nan
    return st


@njit(cache=True)
def fault_flags(x: np.ndarray, lo: float, hi: float, stuck_after: int, spike_k: float,
                alpha: float, st: np.ndarray, min_step: float = 1e-9) -> np.ndarray:
    """Flags for consecutive readings of one sensor; `st` (FAULT_STATE_SIZE floats) carries over.

    Plain reading: NaN → DROPOUT; outside [lo, hi] → OUT_OF_RANGE (and not learnt from);
    the same value `stuck_after` times in a row → STUCK.

    SPIKE is a step test (as in meteorological quality control): a reading that differs from
    the last good reading by more than `spike_k` × the usual step between good readings (an
    EWMA of |step| with weight `alpha`, never less than `min_step`, the sensor's own noise;
    judged after 30 readings). A spike is not learnt from, so the reading after a lone wild
    one is compared with the last good one again and is not a spike. A trend, however steep,
    is not a spike once its steps are usual; a change of slope (a node coming into the sun, the
    ground warming a degree a minute when the shadow leaves) is one only if its first step is
    `spike_k` usual steps. A deviation from a lagging mean would call a steady ramp a spike.

    Two things must not teach the test a false "normal": a repeated value is not learnt from (a
    stuck run's zero steps would make every later change a spike; a slow signal's repeats at the
    sensor's resolution are what `min_step` stands for), and SHIFT_AFTER spikes in a row are a new
    level (a sensor back from being stuck): the last good value jumps to it and the usual step
    widens to the jump's share, so the next ordinary change is not a spike; only the step's
    first SHIFT_AFTER − 1 readings are flagged.
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
        if st[F_N] == 0 or math.isnan(st[F_GOOD]):
            st[F_GOOD] = v  # the first reading, or the first after a gap (`reanchor`)
        d = v - st[F_GOOD]
        if st[F_N] >= 30 and abs(d) > spike_k * max(st[F_STEP], min_step):
            st[F_SPIKES] += 1.0
            if st[F_SPIKES] < SHIFT_AFTER:
                f |= SPIKE
            else:  # a level, not a spike: learn it
                st[F_GOOD] = v
                st[F_STEP] = max(st[F_STEP], abs(d) / spike_k)
                st[F_SPIKES] = 0.0
        else:
            st[F_SPIKES] = 0.0
            st[F_GOOD] = v
            if d != 0.0:  # a repeated value says nothing of the sensor's usual step
                st[F_STEP] += alpha * (abs(d) - st[F_STEP])
        st[F_N] += 1.0
        out[i] = f
    return out


def reanchor(st: np.ndarray, rows: list[int] | None = None) -> None:
    """After a gap (a node back from silence, a gateway back from an outage) the last good
    reading is too old to step from: the next reading of these sensors (all when `rows` is
    None; `st` is one sensor's state or a table of them) becomes the new one, whatever it is."""
    if rows is None:
        st[..., F_GOOD] = np.nan
    else:
        st[rows, F_GOOD] = np.nan


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
