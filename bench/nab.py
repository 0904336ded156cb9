"""Run machimori's streaming detector over NAB data and score it the way NAB does.

    .venv/bin/python bench/nab.py [--nab ../shared/data/nab] [--results DIR]

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

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NAB = ROOT.parent / "shared" / "data" / "nab"
PROBATION_PERCENT = 0.15


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


def sweep_rows(n_rows: int, windows: list[tuple[int, int]], tp_w: float,
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


def corpus_score(files: list[DataFile], scores: dict[str, np.ndarray], cost: dict[str, float],
                 threshold: float | None = None) -> tuple[float, float, int]:
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
    best_tp = np.full(offset, -cost["fnWeight"])  # an undetected window costs fnWeight
    order = np.argsort(-s, kind="stable")
    fp_total = 0.0
    best, best_thr = -len(counted) * cost["fnWeight"], 1.1
    tp_sum = best
    i = 0
    while i < len(order):
        thr = s[order[i]]
        if threshold is not None and thr < threshold:
            break
        # every row at this threshold becomes a detection at once
        while i < len(order) and s[order[i]] == thr:
            r = order[i]
            if win[r] < 0:
                fp_total += sweep[r]
            elif sweep[r] > best_tp[win[r]]:
                tp_sum += sweep[r] - best_tp[win[r]]
                best_tp[win[r]] = sweep[r]
            i += 1
        if threshold is not None or tp_sum + fp_total > best:
            best, best_thr = tp_sum + fp_total, float(thr)
    return best, best_thr, len(counted)


def normalised_score(files: list[DataFile], scores: dict[str, np.ndarray], cost: dict[str, float],
                     threshold: float | None = None) -> tuple[float, float, float]:
    """(normalised score, raw score, threshold); null and perfect are scored by the same code."""
    raw, thr, _ = corpus_score(files, scores, cost, threshold)
    null = {f.name: np.zeros(len(f.values)) for f in files}
    perfect = {}
    for f in files:
        p = np.zeros(len(f.values))
        for lo, _hi in f.windows:
            p[lo] = 1.0
        perfect[f.name] = p
    null_raw = corpus_score(files, null, cost)[0]
    perfect_raw = corpus_score(files, perfect, cost)[0]
    return 100.0 * (raw - null_raw) / (perfect_raw - null_raw), raw, thr


def detect_corpus(files: list[DataFile]) -> dict[str, np.ndarray]:
    from gateway.kernels.anomaly import detect_series

    return {f.name: detect_series(f.timestamps.astype(np.int64).astype(np.float64), f.values)
            for f in files}


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
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    files = load_corpus(args.nab)
    profiles = json.loads((args.nab / "config" / "profiles.json").read_text())
    t0 = time.perf_counter()
    scores = detect_corpus(files)
    elapsed = time.perf_counter() - t0
    n = sum(len(f.values) for f in files)
    print(f"{len(files)} files, {n} rows, "
          f"{sum(len(f.windows) for f in files)} windows; detector {elapsed:.2f} s (incl. compile)")
    for name, prof in profiles.items():
        norm, raw, thr = normalised_score(files, scores, prof["CostMatrix"])
        print(f"{name:20s} score {norm:6.2f}  (raw {raw:7.3f}, threshold {thr:.4f})")
    if args.per_file:
        cost = profiles["standard"]["CostMatrix"]
        thr = normalised_score(files, scores, cost)[2]
        print(f"per file, standard profile at the corpus threshold {thr:.4f}:")
        for f in files:
            norm = normalised_score([f], scores, cost, thr)[0]
            print(f"  {f.name:60s} {norm:7.2f}")
    if args.results:
        write_results(args.results, files, scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
