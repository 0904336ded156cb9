"""End-to-end figures of the spine: latency (reading -> /api/v1/sensors) and sustained messages/s.

    .venv/bin/python bench/e2e.py [--broker mosquitto|amqtt] [--seconds 30]

Latency: the simulated clock maps each summary window's end to a wall-clock instant; the API is
polled every 10 ms and a device's latency is when its new `updated` value first shows, minus that
instant (so it covers the outbox, the broker, ingest and the web layer; a reading waits up to one
window on top, reported separately). Throughput: the demo town at high simulated speed, stored
messages/s at the collector against what the gateways produced in the same seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machimori.procs import free_port, port_open, spawn, stop, wait_for
from sim.commands import write_town
from sim.town import sim_epoch
from tests.harness import Collector, Gateway, Mosquitto


def broker(kind: str, tmp: Path):
    if kind == "mosquitto":
        m = Mosquitto(tmp / "mosq").start()
        return m.url, m.stop
    port = free_port()
    p = spawn(["-m", "machimori.broker", "--port", str(port)], tmp / "amqtt.log")
    wait_for(lambda: port_open(port), 30, "amqtt")
    return f"mqtt://127.0.0.1:{port}", lambda: stop(p)


def latency(kind: str, tmp: Path, seconds: float) -> dict:
    url, stop_broker = broker(kind, tmp / "lat")
    col = Collector(tmp / "lat" / "col", url).start()
    speed = 30.0
    sim_start, anchor = sim_epoch(), time.time()
    _, paths = write_town(tmp / "lat" / "town", url, speed=speed, sim_start=sim_start,
                          wall_anchor=anchor)
    gws = [Gateway(p, p.stem, tmp / "lat" / "town" / p.stem).start(False) for p in paths]
    seen: dict[tuple[str, float], float] = {}
    t_end = time.monotonic() + seconds
    try:
        while time.monotonic() < t_end:
            now = time.time()
            try:
                for s in col.get("/api/v1/sensors")["sensors"]:
                    seen.setdefault((s["id"], s["updated"]), now)
            except OSError:
                pass
            time.sleep(0.01)
    finally:
        for g in gws:
            g.stop()
        col.stop()
        stop_broker()
    lat = [(w - (anchor + (end - sim_start) / speed)) * 1000 for (_, end), w in seen.items()
           if anchor + (end - sim_start) / speed > anchor + 5]  # skip the first seconds
    window_wall = 60.0 / speed * 1000
    return {"broker": kind, "n": len(lat), "p50_ms": statistics.median(lat),
            "p95_ms": statistics.quantiles(lat, n=20)[-1], "max_ms": max(lat),
            "reading_to_api_mean_ms": statistics.median(lat) + window_wall / 2,
            "window_ms": window_wall}


def throughput(kind: str, tmp: Path, seconds: float, speed: float) -> dict:
    url, stop_broker = broker(kind, tmp / "thr")
    col = Collector(tmp / "thr" / "col", url).start()
    _, paths = write_town(tmp / "thr" / "town", url, speed=speed, sim_start=sim_epoch(),
                          wall_anchor=time.time() + 3)
    gws = [Gateway(p, p.stem, tmp / "thr" / "town" / p.stem).start(False) for p in paths]

    def stored() -> int:
        return col.query("SELECT (SELECT count(*) FROM summaries) + (SELECT count(*) FROM events)")[0][0]

    def produced() -> int:
        return sum(g.stats().get("last_seq", 0) for g in gws)
    try:
        wait_for(lambda: stored() > 0, 60, "first messages")
        s0, p0, t0 = stored(), produced(), time.monotonic()
        time.sleep(seconds)
        s1, p1, t1 = stored(), produced(), time.monotonic()
        depth = sum(g.stats().get("outbox_depth", 0) for g in gws)
    finally:
        for g in gws:
            g.stop()
        col.stop()
        stop_broker()
    return {"broker": kind, "speed": speed, "stored_per_s": (s1 - s0) / (t1 - t0),
            "produced_per_s": (p1 - p0) / (t1 - t0), "outbox_depth_end": depth}


def main() -> None:
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--broker", choices=["mosquitto", "amqtt"], default="mosquitto")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--speed", type=float, default=3000.0,
                    help="simulated speed for the throughput run")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        print(latency(a.broker, Path(d), a.seconds), flush=True)
        print(throughput(a.broker, Path(d), a.seconds, a.speed), flush=True)


if __name__ == "__main__":
    main()
