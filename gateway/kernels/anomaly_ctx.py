"""Contextual-novelty anomaly detector for any (time, value) series; score in [0, 1].

A second, independent family beside `anomaly.py` (which scores tail probabilities of deviations).
Here the question per reading is: *have I seen this situation before?*

- Learning the scale. The first `probation` readings are only kept (a bounded buffer in the state);
  when the buffer is full their trimmed range [lo, hi] fixes the quantisation, the buffered readings
  are replayed through the learner, and scoring starts. The scale is then frozen, so a context
  learnt once keeps its meaning.
- Symbols. Each reading is quantised on `grids` grids of `bins` bins across [lo, hi], grid g
  shifted by g / grids of a bin (overlapping bins: a value near one grid's edge sits inside
  another's); values beyond the range get bins beyond it, up to `over` bins out, so a level never
  seen has symbols never seen. The change from the previous reading is quantised too, on a log
  scale of bins (sign and 0, 1, 3, 7 … bins). With `w_win` > 0 the recent regime is a symbol pair
  as well: an EWMA level (weight `a_win`, on the value grid) and the EWMA absolute deviation from
  it (half-octave steps of a bin).
- Contexts. Per grid, the last 1 … `depth` symbols form `depth` contexts; the last 1 … `depth`
  changes, each ended by the current value symbol, form `depth` more; the regime pair alone and
  with the current value form two more (weight `w_win` each); optionally (`w_slot` > 0) the
  time-of-day slot with the current symbol. Each context is hashed into one table of counts
  (2¹⁵ float32 slots; collisions only make a context look familiar). A count fades with half-life `half`
  readings (exact exponential decay by inflating the increment instead of touching the table; the
  table is rescaled once the increment grows large: bounded work per reading).
- Raw novelty: the (weighted) share of the current contexts that are new, a context counting by
  c0 / (c0 + count) — never seen is 1, seen `c0` times (after fading) is ½.
- Surprise for level shifts the contexts miss: |short mean − slow mean| in units of the slow mean
  absolute deviation, squashed by z² / (z² + shift²) (off when `w_shift` = 0).
- The score is max(novelty, w_shift · surprise). A score ≥ `alarm` is output and opens a rest
  period of `rest` × probation readings that output 0: one episode, one alarm (NAB counts only
  the first detection in a window and charges each extra one as a false positive).

All state is in numpy arrays (snapshot them to keep what a live series learnt); NaN, infinite
and absurd (|x| > 1e150, beyond which differences and squares overflow) readings score 0 and
leave the state alone.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# params: index → meaning (docs/kernels.md). The defaults are bench/nab.py's in-sample grid winner
# (its leave-one-category-out score is the honest estimate) with `probation` = 750 readings for
# live series (NAB's cap on its probationary period; 5.2 days of 10-minute windows); bench/nab.py
# sets `probation` per file as NAB does (15 % of the file, at most 750).
P_PROBATION, P_BINS, P_DEPTH, P_HALF, P_C0, P_REST, P_ALARM, P_TRIM, P_W_SLOT, P_SLOTS, \
    P_W_SHIFT, P_A_SHORT, P_A_SLOW, P_SHIFT, P_OVER, P_W_WIN, P_A_WIN, P_GRIDS = range(18)
N_PARAMS = 18
DEFAULT_PARAMS = np.array([750.0, 10.0, 2.0, 20000.0, 0.5, 0.15, 0.65, 0.0, 0.0, 24.0,
                           0.9, 0.2, 0.005, 6.0, 8.0, 1.0, 0.05, 2.0])
TABLE_BITS = 15
TABLE = 1 << TABLE_BITS
MAX_DEPTH = 6
MAX_GRIDS = 4
MAX_ABS = 1e150  # readings beyond are refused: no sum or square of the state can overflow
# the increment at which the table is rescaled (and the increment reset to 1): float32 counts
# reach 3.4e38, so 1e30 leaves room for 10⁸ occurrences of one context at the top
RESCALE_AT = 1e30
# scalar state: index → meaning
S_N, S_LO, S_W, S_INC, S_SINCE, S_PREV, S_SHORT, S_SLOW, S_DEV, S_WM, S_WV, S_QM, S_QV, \
    S_HEAD = range(14)
# S_HEAD … : rings of the last MAX_DEPTH symbols (newest first) of each value grid, then of the
# changes: ring g starts at S_HIST + g · MAX_DEPTH, the changes' at S_HIST + MAX_GRIDS · MAX_DEPTH
S_HIST = S_HEAD
S_CHANGES = S_HIST + MAX_GRIDS * MAX_DEPTH
STATE_SIZE = S_CHANGES + MAX_DEPTH


MIN_PROBATION = 10  # readings: the fewest the scale can be learnt from


def check_params(params: np.ndarray) -> np.ndarray:
    """The parameters as float64, or ValueError saying which one is out of range."""
    p = np.asarray(params, dtype=np.float64)
    if p.shape != (N_PARAMS,):
        raise ValueError(f"anomaly_ctx params: expected {N_PARAMS} values, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("anomaly_ctx params: every value must be finite")
    rules = [(P_PROBATION, MIN_PROBATION, 100_000, "probation"), (P_BINS, 2, 1000, "bins"),
             (P_DEPTH, 1, MAX_DEPTH, "depth"), (P_HALF, 0, 1e12, "half"), (P_C0, 1e-6, 1e6, "c0"),
             (P_REST, 0, 100, "rest"), (P_ALARM, 0, 1, "alarm"), (P_TRIM, 0, 0.2, "trim"),
             (P_W_SLOT, 0, 10, "w_slot"), (P_SLOTS, 1, 1440, "slots"),
             (P_W_SHIFT, 0, 10, "w_shift"), (P_A_SHORT, 1e-6, 1, "a_short"),
             (P_A_SLOW, 1e-6, 1, "a_slow"), (P_SHIFT, 1e-6, 1e6, "shift"),
             (P_OVER, 1, 1e6, "over"), (P_W_WIN, 0, 10, "w_win"),
             (P_A_WIN, 1e-6, 1, "a_win"), (P_GRIDS, 1, MAX_GRIDS, "grids")]
    for k, lo, hi, name in rules:
        if not lo <= p[k] <= hi:
            raise ValueError(f"anomaly_ctx params: {name} = {p[k]} is outside [{lo}, {hi}]")
    return p


def new_state(params: np.ndarray = DEFAULT_PARAMS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh detector state: (scalars, context counts [TABLE] as float32 (128 kB), probation
    buffer [probation, 2] of (time, value))."""
    p = check_params(params)
    st = np.zeros(STATE_SIZE)
    st[S_INC] = 1.0
    st[S_SINCE] = 1e18
    return st, np.zeros(TABLE, dtype=np.float32), np.zeros((int(p[P_PROBATION]), 2))


MASK32 = 0xFFFFFFFF


@njit(cache=True, inline="always")
def _mix(h: int, v: int) -> int:
    """Fold symbol v into the 32-bit hash h. Every product stays below 2⁶³, so numba's int64 and
    plain Python (NUMBA_DISABLE_JIT) give the same hash."""
    h = ((h ^ (v & MASK32)) * 0x01000193) & MASK32
    return h ^ (h >> 15)


@njit(cache=True, inline="always")
def _slot(h: int) -> int:
    """Table index of hash h: the top TABLE_BITS of the low 32 bits of a final multiply
    (Fibonacci hashing). The product may pass 2⁶³ and wrap in numba's int64, but its low 32 bits
    are the same as plain Python's."""
    return ((h * 0x9E3779B1) & MASK32) >> (32 - TABLE_BITS)


FASTMATH = {"reassoc", "contract", "arcp", "nsz"}  # never nnan/ninf: NaN handling stays


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _symbols(x: float, st: np.ndarray, params: np.ndarray) -> None:
    """Quantise x and push its symbols (each value grid's, the change's) onto the rings in st;
    update the regime symbols."""
    lo = st[S_LO]
    w = st[S_W]
    over = params[P_OVER]
    nb = params[P_BINS]
    u = (x - lo) / w
    u = min(nb + over, max(-over, u))  # far beyond the range: the outermost bins
    dx = abs(x - st[S_PREV]) / w
    mag = 0  # 0 below one bin, then 1, 2, … from 1, 3, 7 … bins (⌊log2(1 + |dx|)⌋, at most 8)
    step = 1.0
    while dx >= step and mag < 8:
        mag += 1
        step = 2.0 * step + 1.0
    d = mag if x >= st[S_PREV] else -mag
    depth = int(params[P_DEPTH])
    ng = int(params[P_GRIDS])
    for g in range(ng + 1):  # the rings in use move one place back (the changes' ring last)
        r = S_HIST + g * MAX_DEPTH if g < ng else S_CHANGES
        for k in range(r + depth - 1, r, -1):
            st[k] = st[k - 1]
    if params[P_W_WIN] > 0.0:
        # the recent regime: a windowed (EWMA) level and spread, quantised
        aw = params[P_A_WIN]
        if st[S_WV] == 0.0 and st[S_WM] == 0.0:
            st[S_WM] = x
        st[S_WV] += aw * (abs(x - st[S_WM]) - st[S_WV])
        st[S_WM] += aw * (x - st[S_WM])
        st[S_QM] = math.floor(min(nb + over, max(-over, (st[S_WM] - lo) / w)))
        # (capped: a range of 1e-300 must not make the spread infinite bins)
        st[S_QV] = int(2.0 * math.log2(1.0 + min(4.0 * st[S_WV] / w, 1e12)))
    # grid g is shifted by g / grids of a bin: overlapping bins
    for g in range(ng):
        st[S_HIST + g * MAX_DEPTH] = math.floor(u + g / ng)
    st[S_CHANGES] = d
    st[S_PREV] = x


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _learn(t: float, st: np.ndarray, counts: np.ndarray, params: np.ndarray, n_hist: int,
           grow: float) -> float:
    """Count the current contexts (those with enough history) → their novelty share in [0, 1]."""
    depth = min(int(params[P_DEPTH]), n_hist)
    inc = st[S_INC]
    c0i = params[P_C0] * inc  # c0 / (c0 + count / inc), with one division
    total = 0.0
    weight = 0.0
    ng = int(params[P_GRIDS])
    for g in range(ng + 1):  # the value grids, then the changes (ended by grid 0's value)
        ring = S_HIST + g * MAX_DEPTH if g < ng else S_CHANGES
        h = 0x51ED270B + g * 0x1B873593
        if g == ng:
            h = _mix(h, int(st[S_HIST]))
        for k in range(depth):
            h = _mix(h, int(st[ring + k]))
            j = _slot(h + k)
            total += c0i / (c0i + counts[j])
            weight += 1.0
            counts[j] += inc
    w_win = params[P_W_WIN]
    if w_win > 0.0:
        h = _mix(_mix(0x2F1B9A3D, int(st[S_QM])), int(st[S_QV]))
        for k in range(2):
            if k == 1:
                h = _mix(h, int(st[S_HIST]))
            j = _slot(h + k)
            total += w_win * c0i / (c0i + counts[j])
            weight += w_win
            counts[j] += inc
    w_slot = params[P_W_SLOT]
    if w_slot > 0.0:
        ns = int(params[P_SLOTS])
        s = (int(t) % 86400) * ns // 86400
        h = _mix(_mix(0x7F4A7C15, s), int(st[S_HIST]))
        j = _slot(h)
        total += w_slot * c0i / (c0i + counts[j])
        weight += w_slot
        counts[j] += inc
    # fade: the next increment is larger, which is the same as every count shrinking
    if grow > 1.0:
        inc *= grow
        if inc > RESCALE_AT:
            counts *= 1.0 / inc
            inc = 1.0
        st[S_INC] = inc
    return total / weight


@njit(cache=True)
def _grow(params: np.ndarray) -> float:
    """Per-reading growth of the count increment: counts fade with half-life `half` readings."""
    half = params[P_HALF]
    return math.exp(math.log(2.0) / half) if half > 0.0 else 1.0


@njit(cache=True)
def _start(st: np.ndarray, counts: np.ndarray, buf: np.ndarray, params: np.ndarray) -> None:
    """End of probation: fix the scale from the buffered readings and learn their contexts."""
    m = buf.shape[0]
    srt = np.sort(buf[:, 1])
    cut = int(params[P_TRIM] * m)
    lo = srt[cut]
    hi = srt[m - 1 - cut]
    nb = params[P_BINS]
    w = (hi - lo) / nb
    if not w > 0.0:  # a flat start: bins of 1 % of the level (or 1e-6 at zero)
        w = max(abs(lo) * 0.01, 1e-6)
        lo -= w * nb / 2
    st[S_LO] = lo
    st[S_W] = w
    st[S_PREV] = buf[0, 1]
    grow = _grow(params)
    for i in range(m):
        _symbols(buf[i, 1], st, params)
        _learn(buf[i, 0], st, counts, params, i + 1, grow)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def detect_batch(t: np.ndarray, x: np.ndarray, params: np.ndarray, st: np.ndarray,
                 counts: np.ndarray, buf: np.ndarray, out: np.ndarray) -> None:
    """Score readings x (times t in seconds since the epoch, local time) into out, updating state.

    NaN, infinite and absurd (|x| > MAX_ABS) readings score 0 and leave the state alone.
    """
    prob = buf.shape[0]
    a_short = params[P_A_SHORT]
    a_slow = params[P_A_SLOW]
    w_shift = params[P_W_SHIFT]
    shift2 = params[P_SHIFT] * params[P_SHIFT]
    rest = params[P_REST] * prob
    alarm = params[P_ALARM]
    grow = _grow(params)
    for i in range(x.shape[0]):
        xi = x[i]
        if not abs(xi) <= MAX_ABS:  # NaN fails this too
            out[i] = 0.0
            continue
        n = int(st[S_N])
        st[S_N] = n + 1
        if n == 0:
            st[S_SHORT] = xi
            st[S_SLOW] = xi
        # the level-shift surprise: short mean against the slow mean and its usual deviation
        z = abs(st[S_SHORT] - st[S_SLOW]) / (st[S_DEV] + 1e-9 + 1e-6 * abs(st[S_SLOW]))
        st[S_SHORT] += a_short * (xi - st[S_SHORT])
        st[S_DEV] += a_slow * (abs(xi - st[S_SLOW]) - st[S_DEV])
        st[S_SLOW] += a_slow * (xi - st[S_SLOW])
        if n < prob:
            buf[n, 0] = t[i]
            buf[n, 1] = xi
            out[i] = 0.0
            if n == prob - 1:
                _start(st, counts, buf, params)
            continue
        _symbols(xi, st, params)
        score = _learn(t[i], st, counts, params, MAX_DEPTH, grow)
        if w_shift > 0.0:
            score = max(score, w_shift * (1.0 - shift2 / (z * z + shift2)))  # z² = inf → 1
        score = min(1.0, score)
        since = st[S_SINCE]
        if since < rest:
            score = 0.0
        elif score >= alarm:
            since = 0.0
        st[S_SINCE] = since + 1.0
        out[i] = score


def detect_series(t: np.ndarray, x: np.ndarray,
                  params: np.ndarray = DEFAULT_PARAMS) -> np.ndarray:
    """Anomaly score in [0, 1] for every reading of one series, from a fresh state."""
    p = check_params(params)
    st, counts, buf = new_state(p)
    out = np.empty(x.shape[0])
    detect_batch(np.ascontiguousarray(t, dtype=np.float64),
                 np.ascontiguousarray(x, dtype=np.float64), p, st, counts, buf, out)
    return out
