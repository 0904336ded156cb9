"""The gateway's WBGT against the sim's independent truth, per condition (sun, shade, night,
missing inputs).

    NUMBA_CACHE_DIR=.venv/numba-cache .venv/bin/python bench/wbgt_truth.py

The simulated heat nodes' adverts (their firmware driving the chip emulators) go through the
real gateway pipeline (decode -> buffers -> kernels); each heat summary's WBGT mean is compared
with the mean of the sim's own energy-balance WBGT (sim/physics.py) at the node's spot over the
same window. Conditions are the truth's, at the window's middle: "sun" (the beam reaches the
node; split by whether the node's BH1750 reported under 80 % of the light really there, i.e.
saturated), "shade" (the sun is up but a building hides it), "night", and "missing inputs" (a
fault removed the light sensor or garbles the bus during the window, whatever the sun).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.config import SimSourceConfig
from gateway.kernels.heat import LEVEL_BOUNDS
from gateway.pipeline import Pipeline
from sim.commands import gateway_configs
from sim.physics import illuminance
from sim.places import node_in_shade, node_truth, place_state, weather
from sim.source import SimSource
from sim.town import build_town, sim_epoch

MISSING_KINDS = ("light_missing", "bus_noise")


def condition(town, node, start: float, end: float, t0: float) -> str:  # type: ignore[no-untyped-def]
    for a in town.anomalies:
        if a.device == node.id and a.kind in MISSING_KINDS and a.end is not None \
                and t0 + a.at < end and start < t0 + a.end:
            return "missing inputs"
    w = weather(town, (start + end) / 2)
    if w.sun_elev <= 0:
        return "night"
    return "shade" if node_in_shade(node, w) else "sun"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--start", default="2026-08-03T05:00:00", help="local (JST) start")
    ap.add_argument("--step", type=float, default=30.0, help="seconds between a node's adverts")
    a = ap.parse_args()
    town = build_town(a.seed, gateways=1, nodes=a.nodes, residents=0, households=0)
    t0 = sim_epoch(a.start)
    tmp = Path(tempfile.mkdtemp())
    (cfg,) = gateway_configs(town, tmp, "mqtt://127.0.0.1:1", SimSourceConfig(), 600.0)
    src = SimSource(town, cfg.id, step_s=a.step, repeats=1, sim_start=t0)
    pipe = Pipeline(cfg)
    by_id = {n.id: n for n in town.nodes}
    rows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    unknown: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    t = t0
    src.poll(t)
    pipe.tick(t)
    end_t = t0 + a.hours * 3600
    while t < end_t:
        t += 600.0
        adverts, _ = src.poll(t)
        for adv in adverts:
            pipe.on_advert(adv)
        for m in pipe.tick(t):
            if m.kind != "heat" or m.message != "summary":
                continue
            b = m.body
            node = by_id[b["device"]]
            cond = condition(town, node, b["start"], b["end"], t0)
            est = b["values"].get("wbgt_c", {}).get("mean")
            if est is None:
                unknown[cond] += 1
                continue
            times = np.linspace(b["start"], b["end"], 5)[1:-1]
            truth = float(np.mean([node_truth(town, node, x).wbgt for x in times]))
            rows[cond].append((est, truth))
            if cond == "sun":
                # Did the light sensor saturate? Its reading against the light really there.
                lux = b["values"].get("illuminance", {}).get("mean")
                real = float(np.mean([illuminance(place_state(town, node, x)) for x in times]))
                sat = lux is not None and lux < 0.8 * real
                rows["sun, light sensor saturated" if sat else "sun, light in range"].append(
                    (est, truth))
        print(f"\r  simulated {(t - t0) / 3600:4.1f} h of {a.hours:g}", end="", file=sys.stderr)
    print(file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(f"{a.nodes} nodes, {a.hours:g} h from {a.start} JST, adverts every {a.step:g} s, "
          f"10-minute summaries; {elapsed:.0f} s")
    print("| condition | windows | no estimate | mean error (°C) | mean |error| | p95 |error| "
          "| level right |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    everything = []
    for cond in ("sun", "sun, light in range", "sun, light sensor saturated", "shade", "night",
                 "missing inputs"):
        r = np.array(rows.get(cond, []), dtype=float).reshape(-1, 2)
        if "," not in cond:
            everything.append(r)
        print(_line(cond, r, unknown.get(cond, 0)))
    allr = np.concatenate(everything)
    print(_line("all", allr, sum(unknown.values())))


def _line(cond: str, r: np.ndarray, unknown: int) -> str:
    if not len(r):
        return f"| {cond} | 0 | {unknown} | – | – | – | – |"
    err = r[:, 0] - r[:, 1]
    lv_est = np.searchsorted(LEVEL_BOUNDS, r[:, 0], side="right")
    lv_true = np.searchsorted(LEVEL_BOUNDS, r[:, 1], side="right")
    return (f"| {cond} | {len(r)} | {unknown} | {err.mean():+.2f} | {np.abs(err).mean():.2f} | "
            f"{np.percentile(np.abs(err), 95):.2f} | {np.mean(lv_est == lv_true):.0%} |")


if __name__ == "__main__":
    main()
