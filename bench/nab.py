"""Run machimori's streaming detector over NAB data and score it the way NAB does.

    .venv/bin/python bench/nab.py [--nab ../shared/data/nab] [--results DIR] [--per-file]
                                  [--detector {surprise,ctx}]

--detector picks the kernel: surprise = gateway/kernels/anomaly.py (the default), ctx =
gateway/kernels/anomaly_ctx.py (contextual novelty); each has its own grid.

One run prints, scored by the same code: the detector's cross-validated score (parameters and
threshold chosen by leave-one-category-out over a small grid), the shipped defaults' in-sample
score (the defaults are the grid point most folds pick), and Numenta HTM and ARTime from their
published score files. The detector is told NAB's probationary period of each file (the
`probation` parameter), as NAB tells every detector.

Scoring follows NAB (github numenta/NAB, nab/sweeper.py and the NAB whitepaper):
- each labelled window is scored by its *earliest* detection: scaledSigmoid(position) / scaledSigmoid(-1)
  × tpWeight, where position = -(right - i + 1) / width runs from -1 (left edge) towards 0;
  an undetected window costs -fnWeight;
- every detection outside a window is a false positive weighted by fpWeight × scaledSigmoid of its
  distance past the previous window's right edge in window widths (−1 before any window);
- the first min(15 % of rows, 750) rows of each file are probationary and not scored;
- one threshold for the whole corpus per profile, chosen to maximise the corpus score;
- normalised as 100 × (raw − null) / (perfect − null), null = no detection at all, perfect = a
  detection on the first row of every window.
The walk down the thresholds is a numba loop (`_scan`), so the 72-point search takes seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]


def _default_nab() -> Path:
    """shared/data/nab beside the clone (or beside a folder of worktrees)."""
    for up in ROOT.parents:
        if (up / "shared" / "data" / "nab" / "labels").exists():
            return up / "shared" / "data" / "nab"
    return ROOT.parent / "shared" / "data" / "nab"


DEFAULT_NAB = _default_nab()
PROBATION_PERCENT = 0.15
# Published detectors scored beside ours: results_published/<dir>/<category>/<prefix>_<file>
PUBLISHED = {"Numenta HTM": "numenta", "ARTime": "ARTime"}


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: ~+0.987 at a window's left edge, 0 at its right edge, −1 far after it."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass(frozen=True)
class DataFile:
    name: str  # NAB relative path, e.g. "realKnownCause/nyc_taxi.csv"
    timestamps: np.ndarray  # datetime64[s]
    values: np.ndarray  # float64
    windows: list[tuple[int, int]]  # inclusive row indices


def probation_length(n_rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_PERCENT * 5000))


def read_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """timestamp,value CSV → (datetime64[s] array, float array); raises ValueError naming the row."""
    stamps: list[np.datetime64] = []
    values: list[float] = []
    with path.open() as fh:
        header = fh.readline().strip().split(",")
        if header[:2] != ["timestamp", "value"]:
            raise ValueError(f"{path}: header must start with timestamp,value (got {header})")
        for lineno, line in enumerate(fh, start=2):
            parts = line.strip().split(",")
            try:
                stamps.append(np.datetime64(parts[0].replace(" ", "T"), "s"))
                values.append(float(parts[1]))
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}:{lineno}: bad row {line.strip()!r}: {exc}") from exc
    return np.array(stamps, dtype="datetime64[s]"), np.array(values, dtype=np.float64)


def load_corpus(nab: Path) -> list[DataFile]:
    windows_json = json.loads((nab / "labels" / "combined_windows.json").read_text())
    files = []
    for name in sorted(windows_json):
        ts, vals = read_series(nab / "data" / name)
        wins = []
        for start, end in windows_json[name]:
            lo = int(np.searchsorted(ts, np.datetime64(start.replace(" ", "T"), "s"), "left"))
            hi = int(np.searchsorted(ts, np.datetime64(end.replace(" ", "T"), "s"), "right")) - 1
            wins.append((lo, hi))
        files.append(DataFile(name, ts, vals, wins))
    return files


_SWEEPS: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def sweep_rows(n_rows: int, windows: list[tuple[int, int]], tp_w: float,
               fp_w: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cached `_sweep_rows`: the parameter search scores the same files many times."""
    key = (n_rows, tuple(windows), tp_w, fp_w)
    if key not in _SWEEPS:
        _SWEEPS[key] = _sweep_rows(n_rows, windows, tp_w, fp_w)
    return _SWEEPS[key]


def _sweep_rows(n_rows: int, windows: list[tuple[int, int]], tp_w: float,
                fp_w: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the score a detection there would earn, its window id (−1 = none) and whether it
    is scorable (past the probationary period)."""
    max_tp = scaled_sigmoid(-1.0)
    sweep = np.empty(n_rows)
    win_id = np.full(n_rows, -1, dtype=np.int64)
    prev_right = -1
    prev_width = 0.0
    w = 0
    for i in range(n_rows):
        if w < len(windows) and windows[w][0] <= i <= windows[w][1]:
            left, right = windows[w]
            width = float(right - left + 1)
            sweep[i] = scaled_sigmoid(-(right - i + 1) / width) * tp_w / max_tp
            win_id[i] = w
            if i == right:
                prev_right, prev_width = right, width
                w += 1
        else:
            pos = 3.0 if prev_right < 0 else abs(prev_right - i) / (prev_width - 1.0)
            sweep[i] = scaled_sigmoid(pos) * fp_w
    scorable = np.arange(n_rows) >= probation_length(n_rows)
    return sweep, win_id, scorable


# Not cached: this file is loaded under several module names (run as a script, imported by the
# tests as `bench_nab`, by other scripts as `nab`), and numba's on-disk cache, keyed by the file,
# cannot rebuild a function cached under another module's name (ModuleNotFoundError).
@njit
def _scan(s: np.ndarray, sweep: np.ndarray, win: np.ndarray, n_windows: int, n_counted: float,
          fn_w: float, threshold: float, fixed: bool) -> tuple[float, float, float]:
    """Walk the rows from the highest score down (s sorted descending; sweep and win in the same
    order), lowering the threshold one distinct score at a time → (best raw score, its threshold,
    the first lower threshold that scores less; NaN if none). With `fixed`, stop below
    `threshold` and return the score there."""
    best_tp = np.full(n_windows, -fn_w)  # an undetected window costs fnWeight
    fp_total = 0.0
    best = -n_counted * fn_w
    best_thr = 1.1
    low_thr = np.nan
    tp_sum = best
    i = 0
    n = s.shape[0]
    while i < n:
        thr = s[i]
        if fixed and thr < threshold:
            break
        # every row at this threshold becomes a detection at once
        while i < n and s[i] == thr:
            w = win[i]
            if w < 0:
                fp_total += sweep[i]
            elif sweep[i] > best_tp[w]:
                tp_sum += sweep[i] - best_tp[w]
                best_tp[w] = sweep[i]
            i += 1
        if fixed or tp_sum + fp_total > best + 1e-12:
            best = tp_sum + fp_total
            best_thr = thr
            low_thr = np.nan
        elif math.isnan(low_thr) and tp_sum + fp_total < best - 1e-12:
            low_thr = thr  # the first threshold below the best plateau that loses
    return best, best_thr, low_thr


def corpus_score(files: list[DataFile], scores: dict[str, np.ndarray], cost: dict[str, float],
                 threshold: float | None = None, middle: bool = False
                 ) -> tuple[float, float, int]:
    """Best corpus score over all thresholds, or the score at `threshold` (detection = score ≥
    threshold) → (raw score, threshold, windows counted)."""
    all_scores, all_sweep, all_win = [], [], []
    offset = 0
    for f in files:
        sweep, win, ok = sweep_rows(len(f.values), f.windows, cost["tpWeight"], cost["fpWeight"])
        s = np.asarray(scores[f.name], dtype=np.float64)
        if s.shape != f.values.shape:
            raise ValueError(f"{f.name}: {s.shape[0]} scores for {f.values.shape[0]} rows")
        win = np.where(win >= 0, win + offset, -1)
        offset += len(f.windows)
        all_scores.append(s[ok])
        all_sweep.append(sweep[ok])
        all_win.append(win[ok])
    s = np.concatenate(all_scores)
    sweep = np.concatenate(all_sweep)
    win = np.concatenate(all_win)
    counted = np.unique(win[win >= 0])
    order = np.argsort(-s, kind="stable")
    best, best_thr, low_thr = _scan(s[order], sweep[order], win[order], offset,
                                    float(len(counted)), cost["fnWeight"],
                                    -np.inf if threshold is None else threshold,
                                    threshold is not None)
    if middle and threshold is None:
        # Every threshold in (low_thr, best_thr] scores the best; the middle is the least tied
        # to these files' exact scores (what a threshold carried to other files needs).
        return best, (best_thr + (0.0 if math.isnan(low_thr) else low_thr)) / 2, len(counted)
    return best, best_thr, len(counted)


def normalised_score(files: list[DataFile], scores: dict[str, np.ndarray], cost: dict[str, float],
                     threshold: float | None = None, middle: bool = False
                     ) -> tuple[float, float, float]:
    """(normalised score, raw score, threshold); null and perfect are scored by the same code."""
    raw, thr, _ = corpus_score(files, scores, cost, threshold, middle)
    null_raw, perfect_raw = _bounds(files, cost)
    return 100.0 * (raw - null_raw) / (perfect_raw - null_raw), raw, thr


_BOUNDS: dict[tuple, tuple[float, float]] = {}


def _bounds(files: list[DataFile], cost: dict[str, float]) -> tuple[float, float]:
    """(null, perfect) raw scores of these files: no detection at all; one on each window's
    first row. Cached: the parameter search asks for the same subsets many times."""
    key = (tuple(f.name for f in files), tuple(sorted(cost.items())))
    if key not in _BOUNDS:
        null = {f.name: np.zeros(len(f.values)) for f in files}
        perfect = {}
        for f in files:
            p = np.zeros(len(f.values))
            for lo, _hi in f.windows:
                p[lo] = 1.0
            perfect[f.name] = p
        _BOUNDS[key] = corpus_score(files, null, cost)[0], corpus_score(files, perfect, cost)[0]
    return _BOUNDS[key]


def detect_corpus(files: list[DataFile], params: np.ndarray | None = None,
                  detector: str = "surprise") -> dict[str, np.ndarray]:
    """Scores of one detector over every file, from a fresh state per file, each told the
    file's probationary length (gateway/kernels/detectors.py)."""
    from gateway.kernels.detectors import detect_file

    return {f.name: detect_file(detector, f.timestamps.astype(np.int64).astype(np.float64),
                                f.values, params) for f in files}


def published_scores(nab: Path, files: list[DataFile], folder: str) -> dict[str, np.ndarray]:
    """A published detector's anomaly_score column per file (NAB results CSV)."""
    out = {}
    for f in files:
        cat, base = f.name.split("/")
        path = nab / "results_published" / folder / cat / f"{folder}_{base}"
        out[f.name] = np.loadtxt(path, delimiter=",", skiprows=1, usecols=1, ndmin=1)
    return out


def category(name: str) -> str:
    return name.split("/")[0]


def grid(detector: str = "surprise") -> list[np.ndarray]:
    """The parameter grid the search walks for a detector (docs/kernels.md states both): every
    combination of its axes, from its defaults."""
    from gateway.kernels.detectors import KERNELS

    a = KERNELS[detector]
    axes = ({a.P_ALARM: (0.25, 0.3, 0.35), a.P_SUPPRESS: (0.1, 0.15, 0.2),
             a.P_LIK_K: (16.0, 32.0), a.P_MIN_SD: (0.001, 0.01), a.P_A_SLOW: (0.01, 0.03)}
            if detector == "surprise" else
            {a.P_ALARM: (0.6, 0.65, 0.7), a.P_REST: (0.15, 0.25), a.P_W_WIN: (0.0, 1.0),
             a.P_OVER: (8.0, 64.0), a.P_BINS: (8.0, 10.0)})
    points = [a.DEFAULT_PARAMS.copy()]
    for k, values in axes.items():
        points = [_with(p, k, v) for p in points for v in values]
    return points


def _with(p: np.ndarray, k: int, v: float) -> np.ndarray:
    q = p.copy()
    q[k] = v
    return q


@dataclass(frozen=True)
class CrossValidation:
    score: float  # normalised, all files, each scored with the parameters of its fold
    folds: list[tuple[str, int, float, float]]  # held-out category, grid index, threshold, score
    in_sample: float  # best grid point on all files
    in_sample_index: int


def cross_validate(files: list[DataFile], cost: dict[str, float], progress: bool = False,
                   detector: str = "surprise") -> tuple[CrossValidation, list[np.ndarray]]:
    """Leave one NAB category out: for each category, the grid point (and the threshold) best on
    the other categories detects on the held-out one. The held-out detections of all folds are
    then scored together as one corpus, exactly as a single detector would be."""
    points = grid(detector)
    runs = []
    t0 = time.perf_counter()
    for i, p in enumerate(points):
        runs.append(detect_corpus(files, p, detector))
        if progress:
            print(f"  grid point {i + 1}/{len(points)}, {time.perf_counter() - t0:.0f} s",
                  end="\r", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    cats = sorted({category(f.name) for f in files})
    detections: dict[str, np.ndarray] = {}
    folds = []
    for c in cats:
        train = [f for f in files if category(f.name) != c]
        test = [f for f in files if category(f.name) == c]
        fits = [normalised_score(train, r, cost, middle=True) for r in runs]
        best = int(np.argmax([fit[0] for fit in fits]))
        thr = fits[best][2]
        for f in test:
            detections[f.name] = (runs[best][f.name] >= thr).astype(np.float64)
        folds.append((c, best, thr, normalised_score(test, detections, cost, 1.0)[0]
                      if any(f.windows for f in test) else float("nan")))
    cv = normalised_score(files, detections, cost, 1.0)[0]
    in_scores = [normalised_score(files, r, cost)[0] for r in runs]
    best_all = int(np.argmax(in_scores))
    return CrossValidation(cv, folds, in_scores[best_all], best_all), points


def write_results(results: Path, files: list[DataFile], scores: dict[str, np.ndarray]) -> None:
    """NAB results files: <dir>/<category>/machimori_<file>.csv with timestamp,value,anomaly_score."""
    for f in files:
        cat, base = f.name.split("/")
        out = results / cat / f"machimori_{base}"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w") as fh:
            fh.write("timestamp,value,anomaly_score\n")
            for t, v, s in zip(f.timestamps, f.values, scores[f.name], strict=True):
                fh.write(f"{str(t).replace('T', ' ')},{v!r},{s:.6f}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nab", type=Path, default=DEFAULT_NAB, help="NAB tree (data/, labels/, config/)")
    ap.add_argument("--results", type=Path, help="also write NAB results CSVs under this folder")
    ap.add_argument("--per-file", action="store_true", help="print each file's standard score")
    ap.add_argument("--detector", choices=("surprise", "ctx"), default="surprise",
                    help="surprise: gateway/kernels/anomaly.py; ctx: gateway/kernels/anomaly_ctx.py")
    args = ap.parse_args(argv)
    if not (args.nab / "labels" / "combined_windows.json").exists():
        ap.error(f"no NAB tree at {args.nab} (expected labels/combined_windows.json): use --nab")
    sys.path.insert(0, str(ROOT))
    files = load_corpus(args.nab)
    profiles = json.loads((args.nab / "config" / "profiles.json").read_text())
    std = profiles["standard"]["CostMatrix"]
    n = sum(len(f.values) for f in files)
    print(f"{len(files)} files, {n} rows, {sum(len(f.windows) for f in files)} windows, "
          f"{len({category(f.name) for f in files})} categories")
    t0 = time.perf_counter()
    print(f"detector: {args.detector}")
    cv, points = cross_validate(files, std, progress=True, detector=args.detector)
    print(f"parameter search: {len(points)} grid points x {len(files)} files in "
          f"{time.perf_counter() - t0:.1f} s (incl. compile)")
    for c, i, thr, sc in cv.folds:
        print(f"  held out {c:24s} grid point {i:2d}  threshold {thr:.4f}  score {sc:7.2f}")
    from gateway.kernels.detectors import KERNELS

    defaults = KERNELS[args.detector].DEFAULT_PARAMS
    picks = [i for _c, i, _thr, _s in cv.folds]
    most = max(set(picks), key=picks.count)
    print(f"grid point picked by most folds: {most} ({picks.count(most)} of {len(picks)}); "
          f"in-sample best: {cv.in_sample_index}")
    if not np.array_equal(points[most], defaults):
        print(f"note: the defaults are not the grid point most folds pick {points[most].tolist()}")
    scores = detect_corpus(files, defaults, args.detector)
    rows = [("machimori, cross-validated", {"standard": cv.score}),
            ("machimori, defaults (in-sample)",
             {k: normalised_score(files, scores, v["CostMatrix"])[0] for k, v in profiles.items()})]
    for label, folder in PUBLISHED.items():
        pub = published_scores(args.nab, files, folder)
        rows.append((label, {k: normalised_score(files, pub, v["CostMatrix"])[0]
                             for k, v in profiles.items()}))
    print(f"{'detector':34s} " + " ".join(f"{k:>19s}" for k in profiles))
    for label, vals in rows:
        print(f"{label:34s} " + " ".join(
            f"{vals[k]:19.2f}" if k in vals else f"{'-':>19s}" for k in profiles))
    if args.per_file:
        thr = normalised_score(files, scores, std)[2]
        print(f"per file, standard profile at the corpus threshold {thr:.4f}:")
        for f in files:
            if f.windows:
                print(f"  {f.name:60s} {normalised_score([f], scores, std, thr)[0]:7.2f}")
    if args.results:
        write_results(args.results, files, scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
