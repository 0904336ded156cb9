"""General streaming anomaly detector for any (time, value) series; score in [0, 1].

One pass, O(1) work per reading, all state in numpy arrays so the same kernel serves a live
stream (call `detect_batch` with a batch of one or many) and a whole file (`detect_series`).

Per reading it forms six raw "surprises":
  f0 point deviation |x − m| / d from a slow EWMA mean m and mean absolute deviation d;
  f1 deviation from the time-of-day profile (per-slot EWMA; daily cycles are the common case);
  f2, f3 short EWMA averages of f0 and f1 (bursts, changed volatility, denser spikes);
  f4 level shift |short mean − slow mean| / d;
  f5 sequence novelty: how rarely the last three quantised values have been seen in this order.
Each feature is turned into a surprise −ln p, where p is the feature's empirical tail probability
against its own history (the conformal p-value (#earlier values ≥ this one + 1) / (#earlier + 1),
from a cumulative histogram; a value beyond the highest bin seen so far has its tail extrapolated,
p = (1 − (1 − e^(−tail·bins beyond)) ) / (#earlier + 1), so that a far outlier outranks a near one
even in a short history and short and long series reach the same scores). So a series whose spikes recur does not alarm on every spike — they
are not rare — while a value beyond anything seen is, and scores of different series are on one
scale (what a corpus-wide threshold needs). The largest surprise is squashed into [0, 1), and a
score that does not beat the last alarm within `suppress` readings is damped: NAB and people alike
only want the first alarm of an episode.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# params: index → meaning. Defaults: the best point of bench/nab.py's grid on NAB's 55 development
# files (its leave-one-category-out score is the honest estimate; docs/kernels.md)
P_A_SLOW, P_A_SHORT, P_A_SLOT, P_SLOTS, P_WARM, P_SUPPRESS, P_A_AVG, P_DAMP, P_BINS, \
    P_LEARN_RANGE, P_A_NOVEL, P_BURN, P_ALARM, P_RISE, P_TAIL = range(15)
DEFAULT_PARAMS = np.array([0.01, 0.2, 0.02, 48.0, 150.0, 100.0, 0.3, 0.0, 24.0, 300.0, 0.05, 30.0,
                           0.8, 1.0, 1.0])
N_FEATURES = 6
N_HIST = 64  # histogram bins per feature
# bin b of feature k holds values from BIN_FROM[k] + b / BIN_SCALE[k]: features 0–4 are ln(1 + r)
# with r a deviation in units of its usual size, so values below 1 (r < 1.7) are all ordinary and
# share bin 0, which keeps the cumulative update short; 5 is novelty in [0, 1]
BIN_FROM = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
BIN_SCALE = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 60.0])
# scalar state: index → meaning
S_N, S_MEAN, S_DEV, S_SHORT, S_SEAS_DEV, S_AVG0, S_AVG1, S_LO, S_HI, S_B1, S_B2, S_NOVEL, \
    S_LAST_HI, S_SINCE, S_TOP = range(15)  # S_TOP.. S_TOP+5: highest bin seen per feature
STATE_SIZE = 15 + N_FEATURES


def new_state(params: np.ndarray = DEFAULT_PARAMS
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fresh detector state: (scalars, per-slot [mean, count] table, n-gram counts, per-feature
    cumulative histograms: tails[k, b] = how many earlier values of feature k fell in bin ≥ b)."""
    st = np.zeros(STATE_SIZE)
    st[S_LO], st[S_HI] = np.inf, -np.inf
    st[S_SINCE] = 1e18
    slots = np.zeros((int(params[P_SLOTS]), 2))
    b = int(params[P_BINS]) + 2
    return st, slots, np.zeros(b * b * b), np.zeros((N_FEATURES, N_HIST))


@njit(cache=True, fastmath={"reassoc", "contract", "arcp", "nsz"}, error_model="numpy")
def detect_batch(t: np.ndarray, x: np.ndarray, params: np.ndarray, st: np.ndarray,
                 slots: np.ndarray, ngrams: np.ndarray, tails: np.ndarray,
                 out: np.ndarray) -> None:
    """Score readings x (times t in seconds since the epoch, local time) into out, updating state.

    NaN readings (dropouts) score 0 and leave the state alone.
    """
    a_slow = params[P_A_SLOW]
    a_short = params[P_A_SHORT]
    a_slot = params[P_A_SLOT]
    nslot = slots.shape[0]
    a_avg = params[P_A_AVG]
    nb = int(params[P_BINS])
    feats = np.empty(N_FEATURES)
    for i in range(x.shape[0]):
        xi = x[i]
        if not math.isfinite(xi):
            out[i] = 0.0
            continue
        n = st[S_N]
        if n == 0:
            st[S_MEAN] = xi
            st[S_SHORT] = xi
        mean = st[S_MEAN]
        dev = st[S_DEV]
        eps = 1e-9 + 1e-6 * abs(mean)
        r0 = abs(xi - mean) / (dev + eps)
        r4 = abs(st[S_SHORT] - mean) / (dev + eps)
        sec = int(t[i]) % 86400  # whole seconds of the day: exact, and faster than fmod
        s = sec * nslot // 86400
        seen = slots[s, 1]
        if seen >= 3:
            e = xi - slots[s, 0]
            r1 = abs(e) / (st[S_SEAS_DEV] + eps)
            st[S_SEAS_DEV] += a_slow * (abs(e) - st[S_SEAS_DEV])
        else:
            r1 = r0
        if seen == 0:
            slots[s, 0] = xi
        else:
            slots[s, 0] += a_slot * (xi - slots[s, 0])
        slots[s, 1] = seen + 1
        if n > 0:
            st[S_MEAN] = mean + a_slow * (xi - mean)
            st[S_DEV] = dev + a_slow * (abs(xi - st[S_MEAN]) - dev)
        st[S_SHORT] += a_short * (xi - st[S_SHORT])
        # sequence novelty over quantised values; the range is learnt once, then frozen, so that
        # old n-grams keep their meaning
        if n < params[P_LEARN_RANGE]:
            st[S_LO] = min(st[S_LO], xi)
            st[S_HI] = max(st[S_HI], xi)
        b = 0
        if st[S_HI] > st[S_LO]:
            b = min(nb + 1, max(0, int((xi - st[S_LO]) / (st[S_HI] - st[S_LO]) * nb) + 1))
        key = (int(st[S_B2]) * (nb + 2) + int(st[S_B1])) * (nb + 2) + b
        st[S_NOVEL] += params[P_A_NOVEL] * (1.0 / (1.0 + ngrams[key]) - st[S_NOVEL])
        ngrams[key] += 1.0
        st[S_B2] = st[S_B1]
        st[S_B1] = b
        l0 = math.log1p(r0)
        l1 = math.log1p(r1)
        st[S_AVG0] += a_avg * (l0 - st[S_AVG0])
        st[S_AVG1] += a_avg * (l1 - st[S_AVG1])
        feats[0] = l0
        feats[1] = l1
        feats[2] = st[S_AVG0]
        feats[3] = st[S_AVG1]
        feats[4] = math.log1p(r4)
        feats[5] = st[S_NOVEL]
        # all features are counted together, so the rarest one (fewest earlier values at or
        # above it) has the smallest p and sets the score
        rarest = 1e300
        if n >= params[P_BURN]:  # the first readings only settle the averages
            for k in range(N_FEATURES):
                b = min(N_HIST - 1, max(0, int((feats[k] - BIN_FROM[k]) * BIN_SCALE[k])))
                c = tails[k, b]
                top = st[S_TOP + k]
                if b > top:
                    # beyond anything seen: a negative count extrapolates the tail
                    c = math.exp(-(b - top) * params[P_TAIL]) - 1.0
                    st[S_TOP + k] = b
                rarest = min(rarest, c)
                for j in range(b + 1):
                    tails[k, j] += 1.0
        score = 0.0
        if n > params[P_WARM]:
            # p = (rarest + 1) / (seen + 1); score = 1 − p^(1/4): surprise −ln p squashed into [0, 1)
            score = 1.0 - math.sqrt(math.sqrt((rarest + 1.0) / (n - params[P_BURN] + 1.0)))
        since = st[S_SINCE]
        if since < params[P_SUPPRESS] and score <= st[S_LAST_HI] + params[P_RISE]:
            score *= params[P_DAMP]
        if score > params[P_ALARM] and (since >= params[P_SUPPRESS] or score > st[S_LAST_HI]):
            st[S_LAST_HI] = score
            since = 0.0
        st[S_SINCE] = since + 1.0
        st[S_N] = n + 1.0
        out[i] = score


def detect_series(t: np.ndarray, x: np.ndarray,
                  params: np.ndarray = DEFAULT_PARAMS) -> np.ndarray:
    """Anomaly score in [0, 1] for every reading of one series, from a fresh state."""
    st, slots, ngrams, tails = new_state(params)
    out = np.empty(x.shape[0])
    detect_batch(np.ascontiguousarray(t, dtype=np.float64),
                 np.ascontiguousarray(x, dtype=np.float64), params, st, slots, ngrams, tails, out)
    return out
