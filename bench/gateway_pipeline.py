"""Advertisements/s through the gateway's core on one core: decode -> buffers -> kernels ->
outbox (gateway.pipeline.Pipeline + emit into gateway.outbox.Outbox on disk).

    NUMBA_CACHE_DIR=.venv/numba-cache taskset -c 0 .venv/bin/python bench/gateway_pipeline.py
    ... --phones 0.3   (30 % of the adverts from 5,000 phones: people counting's screening)

Adverts are built beforehand (the bleak adapter's work is not timed): 100 heat nodes, each
advertising the heat-node layout with a new packet id per advert, over simulated minutes so
that windows close (kernels run, summaries are validated and stored) as they would live.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.config import parse
from gateway.frames import Advert
from gateway.outbox import Outbox
from gateway.pipeline import Pipeline, emit
from machimori.contract import bthome


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--adverts", type=int, default=300_000)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--per-second", type=float, default=500.0,
                    help="simulated advert rate (sets how many windows close)")
    ap.add_argument("--phones", type=float, default=0.0,
                    help="share of adverts from phones (random addresses, Apple 'nearby' "
                         "data) that go through people counting's screening")
    a = ap.parse_args()
    phones = [f"C{i % 4:01X}:{(i >> 8) & 0xFF:02X}:{i & 0xFF:02X}:5A:00:01" for i in range(5000)]
    addrs = [f"F0:00:00:00:{i // 256:02X}:{i % 256:02X}" for i in range(a.nodes)]
    tmp = Path(tempfile.mkdtemp())
    cfg = parse({"gateway": {"id": "gw-bench", "data_dir": str(tmp), "source": "sim",
                             "summary_interval_s": 60.0},
                 "device": [{"id": f"heat-{i:03d}", "kind": "heat", "address": ad,
                             "lat": 35.68, "lon": 139.76} for i, ad in enumerate(addrs)]})
    rnd = random.Random(1)
    t0 = 1_780_000_000.0
    adverts = []
    for k in range(a.adverts):
        if a.phones and rnd.random() < a.phones:
            adverts.append(Advert(rnd.choice(phones), t0 + k / a.per_second,
                                  rnd.randint(-95, -55), {}, {0x004C: b"\x10\x05\x01\x18"}))
            continue
        node = k % a.nodes
        objs = bthome.heat_node_objects((k // a.nodes) & 0xFF, 90, rnd.uniform(25, 35),
                                        rnd.uniform(40, 80), rnd.uniform(0, 80000),
                                        rnd.uniform(25, 50), rnd.uniform(25, 45))
        adverts.append(Advert(addrs[node], t0 + k / a.per_second, -70,
                              {bthome.SERVICE_UUID: bthome.encode_service_data(objs)}))
    # Warm up: numba compiles (or loads) the kernels once, outside the timing.
    warm = Pipeline(cfg)
    for adv in adverts[:a.nodes]:
        warm.on_advert(adv)
    warm.flush(t0 + 1)
    outbox = Outbox(tmp / "outbox.sqlite")
    pipe = Pipeline(cfg)
    stored = 0
    start = time.perf_counter()
    for k, adv in enumerate(adverts):
        pipe.on_advert(adv)
        if k % 1000 == 999:
            pending = pipe.tick(adv.ts)
            if pending:
                stored += len(emit(cfg.id, pending, outbox, adv.ts, pipe.counters))
    pending = pipe.flush(adverts[-1].ts + 0.001)
    stored += len(emit(cfg.id, pending, outbox, adverts[-1].ts, pipe.counters))
    elapsed = time.perf_counter() - start
    span = adverts[-1].ts - t0
    print(f"{a.adverts} adverts from {a.nodes} nodes over {span / 60:.0f} simulated minutes; "
          f"{stored} messages stored in the outbox")
    print(f"counters: {dict(pipe.counters)}")
    print(f"decode -> buffers -> kernels -> outbox: {a.adverts / elapsed:,.0f} adverts/s "
          f"({elapsed:.2f} s)")


if __name__ == "__main__":
    main()
