"""Detection against the sim's ground truth: the town's devices through every gateway's real
pipeline, the events through the outbox into the collector's store, scored with truth.jsonl.

    NUMBA_CACHE_DIR=.venv/numba-cache .venv/bin/python bench/watch_truth.py

Every gateway of the town runs in this process (no MQTT: bench/e2e.py measures that path); the
events land in a real collector SQLite database, and `machimori sim score` reads it back with the
truth file, exactly as after a demo. Devices report every `--step` simulated seconds (60 s is the
heat node's default interval; tags advertise more often in life, which only helps them).

The gateways start the way a deployed one runs: with `learn_days` (14) of the town's life before
the start already learnt, by the demo's own replay through the gateway's detectors
(machimori/demo_prelearn.py), restored from its snapshot as a restarted gateway would be. Only
the measured days are scored.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.store import Store
from gateway import state
from gateway.config import SimSourceConfig
from gateway.detect import WatchSettings
from gateway.outbox import Outbox
from gateway.pipeline import Pipeline, emit
from machimori.demo_prelearn import learnt_state
from sim import truth
from sim.commands import gateway_configs
from sim.score import read_events, score, table
from sim.source import SimSource
from sim.town import build_town, sim_epoch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--step", type=float, default=60.0)
    ap.add_argument("--nodes", type=int, default=12)
    ap.add_argument("--residents", type=int, default=20)
    ap.add_argument("--households", type=int, default=20)
    ap.add_argument("--learn-days", type=float, default=14.0,
                    help="days of the town's life learnt before the start (the gateway default)")
    ap.add_argument("--out", default=None, help="keep truth.jsonl and collector.sqlite here")
    a = ap.parse_args()
    out = Path(a.out) if a.out else Path(tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    town = build_town(a.seed, gateways=3, nodes=a.nodes, residents=a.residents,
                      households=a.households)
    t0 = sim_epoch()
    truth.write(out / "truth.jsonl", truth.rows_for(town, t0))
    store = Store(out / "collector.sqlite")
    settings = WatchSettings(learn_days=a.learn_days)
    runs = []
    learn_started = time.perf_counter()
    for cfg in gateway_configs(town, out, "mqtt://127.0.0.1:1", SimSourceConfig(), 60.0):
        cfg = dataclasses.replace(cfg, watch=settings)
        pipe = Pipeline(cfg, people_secret=b"b" * 32)
        state.restore(pipe, learnt_state(cfg, town, t0))
        runs.append((cfg, SimSource(town, cfg.id, step_s=a.step, repeats=1, sim_start=t0),
                     pipe, Outbox(out / f"{cfg.id}-outbox.sqlite"), [0]))
    learn_s = time.perf_counter() - learn_started
    started = time.perf_counter()
    t = t0
    for _, src, pipe, _, _ in runs:
        src.poll(t)
        pipe.tick(t)
    end_t = t0 + a.days * 86400
    while t < end_t:
        t += 600.0
        for cfg, src, pipe, outbox, last in runs:
            adverts, lines = src.poll(t)
            for adv in adverts:
                pipe.on_advert(adv)
            for dev, raw, ts in lines:
                pipe.on_pulse_line(dev, raw, ts)
            emit(cfg.id, pipe.tick(t), outbox, t, pipe.counters)
            while batch := outbox.peek(last[0], 500):
                store.ingest([(topic, payload) for _, topic, payload in batch], now=t)
                last[0] = batch[-1][0]
                outbox.ack(s for s, _, _ in batch)
        print(f"\r  simulated {(t - t0) / 86400:4.2f} days of {a.days:g}", end="",
              file=sys.stderr)
    print(file=sys.stderr)
    store.close()
    elapsed = time.perf_counter() - started
    rows = truth.read(out / "truth.jsonl")
    s = score(rows, read_events(out / "collector.sqlite"), until=end_t)
    print(f"town seed {a.seed}: 3 gateways, {a.nodes} heat nodes, {a.residents} residents, "
          f"{a.households} households; {a.days:g} simulated days from {time.strftime('%Y-%m-%d %H:%M', time.gmtime(t0 + 9 * 3600))} JST, "
          f"devices every {a.step:g} s, {a.learn_days:g} d learnt before the start "
          f"({learn_s:.0f} s); {elapsed:.0f} s")
    print(f"files: {out / 'truth.jsonl'}, {out / 'collector.sqlite'}")
    print("\n".join(table(s)))
    if s.false_alarms:
        print("\nfalse alarms (kind, device, hours after the start):")
        for r in s.false_alarms[:20]:
            print(f"  {r.kind} {r.device} {(r.ts - t0) / 3600:.1f} h")


if __name__ == "__main__":
    main()
