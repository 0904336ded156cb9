"""The heat map's API with 1,000 sensors: server time per request (p50 / p95).

    .venv/bin/python bench/heat_api.py [--sensors 1000] [--hours 12] [--requests 200] [--db PATH]

Requests go through the Flask app in process (routing, database, JSON: the server's time, no
network). The peer is the same app answering with the same bytes precomputed (a static JSON
of the same size): the ratio is what reading and shaping the data costs on top of serving it.
Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask

from collector.app import create_app
from collector.store import Store
from machimori.contract.wbgt import level_of

CENTRE = (36.1473, 139.3886)
T_END = 1_785_715_200.0  # a summer morning, JST 09:00
STEP = 600.0


def fill(db: str, sensors: int, hours: float) -> int:
    """Sensors scattered over ~3 km × 3 km, one summary per sensor every 10 minutes."""
    rnd = random.Random(1)
    places = [(CENTRE[0] + rnd.uniform(-0.015, 0.015), CENTRE[1] + rnd.uniform(-0.018, 0.018))
              for _ in range(sensors)]
    st = Store(db)
    steps = int(hours * 3600 / STEP)
    seq = 0
    n = 0
    for k in range(steps):
        t = T_END - (steps - 1 - k) * STEP
        batch = []
        for i, (lat, lon) in enumerate(places):
            seq += 1
            w = 24 + 6 * math.sin(k / steps * math.pi) + rnd.gauss(0, 0.8)
            stat = {"mean": round(w, 2), "min": round(w - 0.3, 2), "max": round(w + 0.3, 2),
                    "last": round(w, 2)}
            body = {"schema": "machimori/summary/1", "id": f"gw-{i % 50:02d}:{seq}",
                    "gw": f"gw-{i % 50:02d}", "seq": seq, "kind": "heat",
                    "device": f"heat-{i:04d}", "start": t - STEP, "end": t, "n": 10,
                    "values": {"air_c": stat, "humidity": stat, "surface_c": stat,
                               "wbgt_c": stat},
                    "place": {"lat": lat, "lon": lon, "name": f"地点{i:04d}"},
                    "wbgt_level": level_of(w),
                    "state": {"sun": "sun" if i % 3 else "shade", "faults": [],
                              "hot_spot": False}}
            batch.append((f"machimori/v1/gw/{body['gw']}/summary/heat",
                          json.dumps(body).encode()))
        n += st.ingest(batch).stored
    if st.db.dialect == "postgresql":
        # What autovacuum does on a live server soon after a bulk load: statistics and the
        # visibility map (index-only scans) for the planner.
        st.db.execute("VACUUM ANALYZE summaries")
        st.db.execute("VACUUM ANALYZE devices")
    st.close()
    return n


def timed(app: Flask, url: str, requests: int) -> tuple[list[float], int]:
    c = app.test_client()
    size = len(c.get(url).data)  # warm
    out = []
    for _ in range(requests):
        t0 = time.perf_counter()
        r = c.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return out, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=12.0)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--db", default=None, help="SQLite file or postgresql:// URL (default: temp)")
    a = ap.parse_args()
    db = a.db or str(Path(tempfile.mkdtemp()) / "heat.sqlite")
    t0 = time.perf_counter()
    stored = fill(db, a.sensors, a.hours)
    print(f"filled {stored} summaries ({a.sensors} sensors × {a.hours:g} h) "
          f"in {time.perf_counter() - t0:.1f} s", flush=True)
    app = create_app({"DATABASE": db})
    sensors_body = app.test_client().get("/api/v1/sensors").data
    static = Flask("peer")

    @static.get("/static-sensors")
    def same_bytes():  # the peer: the same JSON, precomputed
        return static.response_class(sensors_body, mimetype="application/json")

    cases = [
        ("GET /api/v1/sensors (live map)", app, "/api/v1/sensors"),
        ("GET /api/v1/heat/at?t= (slider frame)", app, f"/api/v1/heat/at?t={T_END - 3 * 3600}"),
        ("GET /api/v1/heat/sensors/ID/series (24 h)", app,
         "/api/v1/heat/sensors/heat-0500/series"),
        ("GET /api/v1/heat/times (slider, 24 h)", app, "/api/v1/heat/times"),
        ("GET /api/v1/heat/trend (area, 6 h)", app, "/api/v1/heat/trend"),
        ("GET /api/v1/heat/levels", app, "/api/v1/heat/levels"),
        ("peer: same bytes as /sensors, precomputed", static, "/static-sensors"),
    ]
    rows = []
    for name, target, url in cases:
        ms, size = timed(target, url, a.requests)
        q = statistics.quantiles(ms, n=100)
        rows.append((name, q[49], q[94], size))
        print(f"{name:45s} p50 {q[49]:7.2f} ms  p95 {q[94]:7.2f} ms  {size / 1024:8.1f} KiB",
              flush=True)
    live, peer = rows[0][2], rows[-1][2]
    print(f"/api/v1/sensors p95 is {live / peer:.1f}× the peer's; target ≤ 100 ms: "
          f"{'met' if live <= 100 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
