"""Cool-spot controller: one step (live WBGT near every spot, decisions, queued commands) over a
town of heat sensors, on SQLite; and the actuator line codec (contract parse/encode).

    .venv/bin/python bench/actuators.py [--sensors 1000] [--spots 100] [--steps 50]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector import actuators as act
from collector.actuator_worker import ActuatorWorker
from collector.store import Store
from machimori.contract import actuator as ac


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--spots", type=int, default=100)
    ap.add_argument("--steps", type=int, default=50)
    a = ap.parse_args()
    rng = random.Random(7)
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        st = Store(Path(tmp) / "c.sqlite")
        items = []
        for i in range(a.sensors):
            w = rng.uniform(24, 32)
            stat = {"mean": w, "min": w, "max": w, "last": w}
            body = {"schema": "machimori/summary/1", "id": f"gw-01:{i}", "gw": "gw-01", "seq": i,
                    "kind": "heat", "device": f"heat-{i:04d}", "start": now - 60, "end": now,
                    "n": 6, "values": {"wbgt_c": stat}, "wbgt_level": 3,
                    "place": {"lat": 35.0 + rng.uniform(0, 0.05),
                              "lon": 139.0 + rng.uniform(0, 0.05)}}
            items.append(("machimori/v1/gw/gw-01/summary/heat", json.dumps(body).encode()))
        st.ingest(items)
        for j in range(a.spots):
            act.register(st.db, id=f"mist-{j}", gw="gw-01", lat=35.0 + rng.uniform(0, 0.05),
                         lon=139.0 + rng.uniform(0, 0.05), on_wbgt=28, min_interval_s=0,
                         now=now)
        w = ActuatorWorker(str(Path(tmp) / "c.sqlite"), "mqtt://127.0.0.1:1")
        times = []
        for k in range(a.steps):
            t0 = time.perf_counter()
            w.step(st.db, now + k)
            times.append(time.perf_counter() - t0)
        queued = st.db.execute("SELECT count(*) FROM actuator_commands").fetchone()[0]
        st.close()
    times.sort()
    print(f"controller step: {a.sensors} sensors, {a.spots} spots: median "
          f"{statistics.median(times) * 1000:.1f} ms, p95 {times[int(0.95 * len(times))] * 1000:.1f}"
          f" ms ({queued} commands queued)")
    line = ac.encode_ack(ac.Ack("9f3c0a1be2d4c5f60718", "refused", "humidity", False))
    n = 100_000
    t0 = time.perf_counter()
    for _ in range(n):
        ac.parse(line)
    dt = time.perf_counter() - t0
    print(f"line parse: {n / dt:,.0f} lines/s (a 9600-baud UART carries at most ~20 such lines/s)")


if __name__ == "__main__":
    main()
