"""General streaming anomaly detector for any (time, value) series; score in [0, 1].

One pass, O(1) work per reading, all state in numpy arrays so the same kernel serves a live
stream (call `detect_batch` with a batch of one or many) and a whole file (`detect_series`).

Three layers, per reading:

1. Raw surprise. Six features:
     f0 point deviation |x − m| / d from a slow EWMA mean m and mean absolute deviation d;
     f1 deviation from the time-of-day profile (per-slot EWMA; daily cycles are the common case);
     f2, f3 short EWMA averages of f0 and f1 (bursts, changed volatility, denser spikes);
     f4 level shift |short mean − slow mean| / d;
     f5 sequence novelty: how rarely the last three quantised values have been seen in this order.
   Each is counted into a cumulative histogram of its own history, and the reading's p-value is
   (#earlier values in its bin or above + 1) / (#earlier + 1) for the rarest of the six (a bin
   above the highest seen so far extrapolates the tail: the count becomes e^(−tail·bins beyond)
   − 1, so a far outlier outranks a near one even in a short history). raw = 1 − p^(1/8).
2. Anomaly likelihood (the idea of Numenta's HTM detector, done here with running moments): the
   average of the last `lik_k` raw scores is compared with the distribution of that average so
   far (mean and variance over all history, forgetting at `a_long` once that is shorter); the
   score is the Gaussian tail Q of its z value on HTM's log scale, −log10(Q) / 10 (Q = 1e-3 →
   0.3; capped at 1). A single surprising reading among many ordinary ones barely moves the
   average; a run of them, or a series that changes its behaviour, does.
3. Value beyond everything seen: a reading more than `spatial` × (max − min) outside the range
   seen so far scores 1 (HTM's NAB detector does the same).

Nothing scores during the first `warm` × `probation` readings (learning; NAB gives every detector
a probationary period of 15 % of a file, at most 750 rows, and the gateway sets a fixed
`probation`, see gateway/anomaly_watch.py). After an alarm (score > `alarm`) the scores of the
next `suppress` × `probation` readings are multiplied by `damp` (0: silenced) unless they beat the
alarm by `rise` (1: never): people and NAB alike want the first alarm of an episode, and NAB
charges every further detection outside a window as a false positive.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# params: index → meaning. Defaults: the grid point that bench/nab.py's leave-one-category-out
# search picks for most folds on NAB's 55 development files (docs/kernels.md); `probation` is the
# live pipeline's (432 readings = 3 days of 10-minute windows); bench/nab.py sets NAB's per file
P_A_SLOW, P_A_SHORT, P_A_SLOT, P_SLOTS, P_WARM, P_SUPPRESS, P_A_AVG, P_DAMP, P_BINS, \
    P_LEARN_RANGE, P_A_NOVEL, P_BURN, P_ALARM, P_RISE, P_TAIL, P_PROBATION, P_LIK_K, P_A_LONG, \
    P_MIN_SD, P_SPATIAL = range(20)
DEFAULT_PARAMS = np.array([0.03, 0.2, 0.02, 48.0, 1.0, 0.15, 0.1, 0.0, 32.0, 600.0, 0.05, 30.0,
                           0.3, 1.0, 1.0, 432.0, 32.0, 0.0001, 0.001, 0.05])
MAX_LIK_K = 32  # longest short average of the raw score (ring buffer in the scalar state)
N_FEATURES = 6
N_HIST = 64  # histogram bins per feature
# bin b of feature k holds values from BIN_FROM[k] + b / BIN_SCALE[k]: features 0–4 are ln(1 + r)
# with r a deviation in units of its usual size, so values below 1 (r < 1.7) are all ordinary and
# share bin 0, which keeps the cumulative update short; 5 is novelty in [0, 1]
BIN_FROM = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
BIN_SCALE = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 60.0])
# scalar state: index → meaning
S_N, S_MEAN, S_DEV, S_SHORT, S_SEAS_DEV, S_AVG0, S_AVG1, S_LO, S_HI, S_B1, S_B2, S_NOVEL, \
    S_LAST_HI, S_SINCE, S_RSUM, S_LMEAN, S_LVAR, S_LN, S_MIN, S_MAX, S_RIDX, S_TOP = range(22)
S_RING = S_TOP + N_FEATURES  # S_TOP.. S_TOP+5: highest bin seen per feature; then the ring
STATE_SIZE = S_RING + MAX_LIK_K


def new_state(params: np.ndarray = DEFAULT_PARAMS
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fresh detector state: (scalars, per-slot [mean, count] table, n-gram counts, per-feature
    cumulative histograms: tails[k, b] = how many earlier values of feature k fell in bin ≥ b)."""
    st = np.zeros(STATE_SIZE)
    st[S_LO], st[S_HI] = np.inf, -np.inf
    st[S_SINCE] = 1e18
    st[S_MIN], st[S_MAX] = np.inf, -np.inf
    slots = np.zeros((int(params[P_SLOTS]), 2))
    b = int(params[P_BINS]) + 2
    return st, slots, np.zeros(b * b * b), np.zeros((N_FEATURES, N_HIST))


@njit(cache=True, inline="always", fastmath={"reassoc", "contract", "arcp", "nsz"})
def _ln(y: float, buf: np.ndarray, bits: np.ndarray) -> float:
    """Natural log of y > 0 (normal, finite), to ~1e-9, inline: much cheaper than a libm call
    in the detector's loop. y = 2^e · m with m in [1, 2); ln m = 2 atanh(s), s = (m−1)/(m+1) in
    [0, ⅓), by its odd series to s¹⁷ (no branch). `buf` (float64[1]) and `bits` (its int64 view)
    do the bit cast."""
    buf[0] = y
    u = bits[0]
    e = (u >> 52) - 1023
    bits[0] = (u & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000
    m = buf[0]
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    return e * 0.6931471805599453 + 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (
        0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (
            1.0 / 13.0 + s2 * (1.0 / 15.0 + s2 / 17.0))))))))


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
    a_novel = params[P_A_NOVEL]
    learn_range = params[P_LEARN_RANGE]
    tail = params[P_TAIL]
    burn = params[P_BURN]
    k_lik = max(1, min(MAX_LIK_K, int(params[P_LIK_K])))
    inv_k = 1.0 / k_lik
    a_long = params[P_A_LONG]
    min_sd = params[P_MIN_SD]
    tol = params[P_SPATIAL] if params[P_SPATIAL] >= 0 else np.inf
    warm = params[P_WARM] * params[P_PROBATION]
    suppress = params[P_SUPPRESS] * params[P_PROBATION]
    alarm = params[P_ALARM]
    rise = params[P_RISE]
    damp = params[P_DAMP]
    feats = np.empty(N_FEATURES)
    buf = np.empty(1)
    bits = buf.view(np.int64)
    # the scalar state lives in locals for the loop (the compiler cannot keep array elements in
    # registers) and goes back to `st` at the end
    n = st[S_N]
    mean = st[S_MEAN]
    dev = st[S_DEV]
    short_x = st[S_SHORT]
    seas_dev = st[S_SEAS_DEV]
    avg0 = st[S_AVG0]
    avg1 = st[S_AVG1]
    lo = st[S_LO]
    hi = st[S_HI]
    b1 = int(st[S_B1])
    b2 = int(st[S_B2])
    novel = st[S_NOVEL]
    last_hi = st[S_LAST_HI]
    since = st[S_SINCE]
    rsum = st[S_RSUM]
    lmean = st[S_LMEAN]
    lvar = st[S_LVAR]
    ln = st[S_LN]
    vmin = st[S_MIN]
    vmax = st[S_MAX]
    ridx = int(st[S_RIDX])
    qscale = nb / (hi - lo) if hi > lo else 0.0
    for i in range(x.shape[0]):
        xi = x[i]
        if not math.isfinite(xi):
            out[i] = 0.0
            continue
        if n == 0:
            mean = xi
            short_x = xi
        eps = 1e-9 + 1e-6 * abs(mean)
        inv = 1.0 / (dev + eps)
        r0 = abs(xi - mean) * inv
        r4 = abs(short_x - mean) * inv
        sec = int(t[i]) % 86400  # whole seconds of the day: exact, and faster than fmod
        s = sec * nslot // 86400
        seen = slots[s, 1]
        if seen >= 3:
            e = xi - slots[s, 0]
            r1 = abs(e) / (seas_dev + eps)
            seas_dev += a_slow * (abs(e) - seas_dev)
        else:
            r1 = r0
        if seen == 0:
            slots[s, 0] = xi
        else:
            slots[s, 0] += a_slot * (xi - slots[s, 0])
        slots[s, 1] = seen + 1
        if n > 0:
            mean += a_slow * (xi - mean)
            dev += a_slow * (abs(xi - mean) - dev)
        short_x += a_short * (xi - short_x)
        # sequence novelty over quantised values; the range is learnt once, then frozen, so that
        # old n-grams keep their meaning
        if n < learn_range:
            lo = min(lo, xi)
            hi = max(hi, xi)
            qscale = nb / (hi - lo) if hi > lo else 0.0
        b = min(nb + 1, max(0, int((xi - lo) * qscale) + 1)) if qscale > 0.0 else 0
        key = (b2 * (nb + 2) + b1) * (nb + 2) + b
        novel += a_novel * (1.0 / (1.0 + ngrams[key]) - novel)
        ngrams[key] += 1.0
        b2 = b1
        b1 = b
        l0 = _ln(1.0 + r0, buf, bits)
        l1 = _ln(1.0 + r1, buf, bits)
        avg0 += a_avg * (l0 - avg0)
        avg1 += a_avg * (l1 - avg1)
        feats[0] = l0
        feats[1] = l1
        feats[2] = avg0
        feats[3] = avg1
        feats[4] = _ln(1.0 + r4, buf, bits)
        feats[5] = novel
        # all features are counted together, so the rarest one (fewest earlier values at or
        # above it) has the smallest p and sets the raw score
        raw = 0.0
        if n >= burn:  # the first readings only settle the averages
            rarest = 1e300
            for k in range(N_FEATURES):
                b = min(N_HIST - 1, max(0, int((feats[k] - BIN_FROM[k]) * BIN_SCALE[k])))
                c = tails[k, b]
                top = st[S_TOP + k]
                if b > top:
                    # beyond anything seen: a negative count extrapolates the tail
                    c = math.exp(-(b - top) * tail) - 1.0
                    st[S_TOP + k] = b
                rarest = min(rarest, c)
                for j in range(b + 1):
                    tails[k, j] += 1.0
            # p = (rarest + 1) / (seen + 1); raw = 1 − p^(1/8): surprise −ln p squashed into [0, 1)
            d = 1.0 - (rarest + 1.0) / (n - burn + 1.0)
            if d < 0.01:  # the common case, no sqrt: 1 − (1 − d)^(1/8) by its series
                raw = d * (0.125 + d * (0.0546875 + d * 0.0341796875))
            else:
                raw = 1.0 - math.sqrt(math.sqrt(math.sqrt(1.0 - d)))
        # anomaly likelihood: the average of the last k raw scores against the distribution of
        # that average so far (mean and variance; all history at first, then forgetting at a_long)
        rsum += raw - st[S_RING + ridx]  # the ring starts at zeros
        st[S_RING + ridx] = raw
        ridx = ridx + 1 if ridx + 1 < k_lik else 0
        short = rsum * inv_k if n + 1.0 >= k_lik else rsum / (n + 1.0)
        dz = short - max(lmean, min_sd)
        score = 0.0
        if dz > min_sd and dz * dz > lvar:  # z > 1: below it the score stays 0
            z = dz / max(math.sqrt(lvar), min_sd)
            # −log10 of the Gaussian tail Q(z) = φ(z) / ((1 − a) z + a √(z² + b)), a = 0.339,
            # b = 5.51 (Börjesson & Sundberg 1979; Q within 0.3 %, so −log10 Q within 0.002),
            # on HTM's log scale: Q = 1e-3 → 0.3, Q ≤ 1e-10 → 1
            nlq = (0.5 * z * z + 0.9189385332046727
                   + _ln(0.661 * z + 0.339 * math.sqrt(z * z + 5.51), buf, bits))
            score = min(1.0, 0.04342944819032518 * nlq)
        ln += 1.0
        a = a_long if ln * a_long >= 1.0 else 1.0 / ln  # = max(1 / ln, a_long)
        d = short - lmean
        lmean += a * d
        lvar += a * (d * (short - lmean) - lvar)
        # a value outside everything seen by more than `spatial` of the range seen
        span = vmax - vmin
        if span > 0 and (xi > vmax + tol * span or xi < vmin - tol * span):
            score = 1.0
        vmin = min(vmin, xi)
        vmax = max(vmax, xi)
        if n < warm:
            score = 0.0
        if since < suppress and score <= last_hi + rise:
            score *= damp
        if score > alarm and (since >= suppress or score > last_hi):
            last_hi = score
            since = 0.0
        since += 1.0
        n += 1.0
        out[i] = score
    st[S_N] = n
    st[S_MEAN] = mean
    st[S_DEV] = dev
    st[S_SHORT] = short_x
    st[S_SEAS_DEV] = seas_dev
    st[S_AVG0] = avg0
    st[S_AVG1] = avg1
    st[S_LO] = lo
    st[S_HI] = hi
    st[S_B1] = b1
    st[S_B2] = b2
    st[S_NOVEL] = novel
    st[S_LAST_HI] = last_hi
    st[S_SINCE] = since
    st[S_RSUM] = rsum
    st[S_LMEAN] = lmean
    st[S_LVAR] = lvar
    st[S_LN] = ln
    st[S_MIN] = vmin
    st[S_MAX] = vmax
    st[S_RIDX] = ridx


def file_probation(n_rows: int) -> float:
    """NAB's probationary period for a whole file: 15 % of its rows, at most 750 — what an
    offline run over a file (machimori detect, bench/nab.py) gives the detector."""
    return float(min(math.floor(0.15 * n_rows), 750))


def detect_series(t: np.ndarray, x: np.ndarray,
                  params: np.ndarray = DEFAULT_PARAMS) -> np.ndarray:
    """Anomaly score in [0, 1] for every reading of one series, from a fresh state."""
    st, slots, ngrams, tails = new_state(params)
    out = np.empty(x.shape[0])
    detect_batch(np.ascontiguousarray(t, dtype=np.float64),
                 np.ascontiguousarray(x, dtype=np.float64), params, st, slots, ngrams, tails, out)
    return out
