"""Readings per second of each kernel on one core, against River and thermofeel/pythermalcomfort.

    NUMBA_NUM_THREADS=1 .venv/bin/python bench/kernels.py [--n 2000000]

Every kernel is called once to compile before timing; the best of three runs is reported.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np


def rate(fn: Callable[[], object], n: int, repeat: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2_000_000, help="readings per batch kernel")
    ap.add_argument("--river-n", type=int, default=20_000, help="readings for River")
    ap.add_argument("--wbgt-n", type=int, default=50_000, help="rows for the WBGT comparison")
    args = ap.parse_args()
    from gateway.kernels import anomaly, anomaly_ctx, faults, heat, liljegren, people

    rng = np.random.default_rng(0)
    n = args.n
    t = np.arange(n, dtype=np.float64) * 60.0
    x = 20 + 5 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 0.3, n)
    rows: list[tuple[str, float, str]] = []

    def fault_run() -> None:
        faults.fault_flags(x, -40.0, 85.0, 30, 8.0, 0.05, faults.new_fault_state()[0])

    rows.append(("faults.fault_flags (range, stuck, spike)", rate(fault_run, n), ""))

    def detect_run() -> None:
        anomaly.detect_series(t, x)

    det = rate(detect_run, n)
    rows.append(("anomaly.detect_series (general detector)", det, ""))

    def ctx_run() -> None:
        anomaly_ctx.detect_series(t, x)

    det_ctx = rate(ctx_run, n)
    rows.append(("anomaly_ctx.detect_series (contextual novelty)", det_ctx, ""))
    ta = rng.uniform(20, 40, n)
    rh = rng.uniform(20, 95, n)
    sr = rng.uniform(0, 1, n)
    ws = rng.uniform(0, 6, n)
    rows.append(("heat.wbgt_moe", rate(lambda: heat.wbgt_moe(ta, rh, sr, ws), n), ""))
    rows.append(("heat.wbgt_levels", rate(lambda: heat.wbgt_levels(
        ta, heat.LEVEL_BOUNDS, np.full(n, -1, dtype=np.int64), 0.5), n), ""))
    macs = rng.integers(0, 2 ** 48, n, dtype=np.uint64)
    key = people.daily_key(b"bench", "2025-01-01")
    rows.append(("people.siphash24", rate(lambda: people.siphash24(macs, key), n), ""))
    h = people.siphash24(macs, key)
    grp = np.zeros(n, dtype=np.int64)
    rows.append(("people.hll_add", rate(lambda: people.hll_add(
        h, grp, np.zeros((1, people.HLL_M), dtype=np.uint8)), n), ""))

    # River: HalfSpaceTrees is its general online detector; same stream, one reading at a time
    from river import anomaly as river_anomaly
    from river import preprocessing

    rn = args.river_n

    def river_run() -> None:
        model = preprocessing.MinMaxScaler() | river_anomaly.HalfSpaceTrees(seed=1)
        for v in x[:rn]:
            d = {"x": float(v)}
            model.score_one(d)
            model.learn_one(d)

    river = rate(river_run, rn, repeat=1)
    rows.append(("River HalfSpaceTrees after MinMaxScaler", river,
                 f"detector ×{det / river:.0f}, contextual ×{det_ctx / river:.0f}"))

    # WBGT, Liljegren: thermofeel vectorised vs the kernel, same weather rows
    import thermofeel

    m = args.wbgt_n
    wt = rng.uniform(15, 40, m)
    wrh = rng.uniform(20, 95, m)
    wp = np.full(m, 1010.0)
    wv = rng.uniform(0, 8, m)
    wsr = rng.uniform(0, 1000, m)
    wcz = rng.uniform(0.05, 1.0, m)
    wfd = rng.uniform(0, 1, m)
    tf = rate(lambda: thermofeel.calculate_wbgt_liljegren(wt + 273.15, wrh, wp, wv, wsr, wfd, wcz),
              m, repeat=2)

    def lil_run() -> None:
        liljegren.wbgt_liljegren(wt, wrh, wp, liljegren.wind_10m_to_2m(wv, wcz, wsr), wsr, wfd,
                                 wcz)

    lil = rate(lil_run, m)
    rows.append(("liljegren.wbgt_liljegren (+ wind 10→2 m)", lil, f"×{lil / tf:.1f} thermofeel"))
    rows.append(("thermofeel.calculate_wbgt_liljegren", tf, ""))

    from pythermalcomfort.models import wbgt as ptc_wbgt

    tnw = rng.uniform(15, 30, n)
    tg = rng.uniform(20, 60, n)
    mine = rate(lambda: heat.wbgt_outdoor(tnw, tg, ta), n)
    ref = rate(lambda: ptc_wbgt(tnw, tg, ta, with_solar_load=True, round_output=False), n)
    rows.append(("heat.wbgt_outdoor (measured globe)", mine, f"×{mine / ref:.1f} pythermalcomfort"))
    rows.append(("pythermalcomfort.wbgt", ref, ""))

    print("| kernel | readings/s | ratio |\n|---|---:|---|")
    for name, r, note in rows:
        print(f"| {name} | {r:,.0f} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
