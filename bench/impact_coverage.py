"""How often does the impact estimate's 95 % interval hold the true effect? (sim/footfall.py)

    .venv/bin/python bench/impact_coverage.py [--seeds 200]

For each true effect, simulates --seeds towns (2 treated, 4 comparison sites, 42 days, the
start halfway), estimates, and reports coverage, mean estimate (bias), the interval's mean
width, how often the conclusion names the right direction, and the time per estimate.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np

from machimori.impact import estimate, read_counts
from sim.footfall import simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    args = ap.parse_args()
    print(f"{'effect':>7} {'coverage':>9} {'mean est':>9} {'sd':>6} {'CI width':>9} "
          f"{'right call':>10} {'ms/est':>7}")
    for effect in (0.0, 0.1, 0.25, -0.2):
        est, cover, width, right, secs = [], 0, [], 0, 0.0
        for seed in range(args.seeds):
            f = simulate(seed=10_000 + seed, effect=effect)
            c = read_counts(io.StringIO(f.csv()))
            t0 = time.perf_counter()
            r = estimate(c, f.treated, f.control, f.start)
            secs += time.perf_counter() - t0
            assert r.effect is not None and r.ci95 is not None
            est.append(r.effect)
            cover += r.ci95[0] <= effect <= r.ci95[1]
            width.append(r.ci95[1] - r.ci95[0])
            want = "no_clear_change" if effect == 0 else ("increase" if effect > 0 else "decrease")
            right += r.conclusion == want
        n = args.seeds
        print(f"{effect:>+7.2f} {cover / n:>9.3f} {np.mean(est):>+9.4f} {np.std(est):>6.3f} "
              f"{np.mean(width):>9.3f} {right / n:>10.3f} {1000 * secs / n:>7.1f}")


if __name__ == "__main__":
    main()
