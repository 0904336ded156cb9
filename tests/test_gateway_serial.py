"""`gw run` reads meters over serial for real: a meter bridge and a Route-B Wi-SUN module, each
the sim's byte-exact device on a pty, through the daemon and Mosquitto into the collector."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

from gateway import skstack as sk
from gateway.config import Device, RouteBConfig, SimSourceConfig, dump
from machimori.procs import wait_for
from sim.commands import gateway_configs
from sim.meter_bridge import MeterBridge
from sim.pty_device import PtyDevice
from sim.routeb import DEFAULT_PASSWORD, DEFAULT_RBID, SmartMeter, WisunModule
from sim.town import build_town

from .harness import Collector, Gateway, Mosquitto


def test_meter_bridge_and_routeb_through_the_daemon(tmp_path: Path, mosquitto: Mosquitto
                                                    ) -> None:
    bridge = MeterBridge(pulses_per_line=5, start_count=2000).plug()
    module = WisunModule(sk.LAYOUTS["BP35C2"], SmartMeter(power_w=1234, energy_count=56789,
                                                          unit_code=0x01, coefficient=1))
    wisun = PtyDevice(module.feed).open()
    cred = tmp_path / "routeb.json"
    cred.write_text(json.dumps({"rbid": DEFAULT_RBID, "password": DEFAULT_PASSWORD}))
    now = time.time()
    town = build_town(3, gateways=1, nodes=1, residents=0, households=1)
    sim = SimSourceConfig(town_seed=3, speed=1.0, sim_start=now, wall_anchor=now, gateways=1,
                          nodes=1, residents=0, households=1)
    cfg = gateway_configs(town, tmp_path / "gw", mosquitto.url, sim, summary_interval_s=2.0)[0]
    cfg = replace(cfg, devices=cfg.devices + (
        Device(id="bridge-1", kind="meter", port=bridge.port, pulses_per_kwh=1000.0),
        Device(id="routeb-1", kind="meter", port=wisun.port)),
        routeb=RouteBConfig(wisun.port, str(cred), "", 10.0))
    path = tmp_path / "gw-01.toml"
    path.write_text(dump(cfg))
    col = Collector(tmp_path / "col", mosquitto.url).start()
    gw = Gateway(path, cfg.id, cfg.data_dir).start(exit_when_drained=False)
    stop = threading.Event()

    def feed() -> None:  # the bridge's firmware: one line every 0.2 s
        while not stop.wait(0.2):
            bridge.line()
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        def meter(dev: str) -> list[dict]:
            rows = col.query('SELECT "values" FROM summaries WHERE device = ? ORDER BY "end"',
                             (dev,))
            return [json.loads(r[0]) for r in rows]
        def ready() -> bool:
            if gw.proc is not None and gw.proc.poll() is not None:
                raise RuntimeError((cfg.data_dir.parent / "gw-01.log").read_text())
            return len(meter("bridge-1")) >= 3 and len(meter("routeb-1")) >= 2
        wait_for(ready, 90, "meter summaries from both serial devices")
        b = meter("bridge-1")
        assert all(2000 <= v["pulses"]["last"] for v in b)
        # 5 pulses per line, 5 lines per second, 1000 pulses per kWh: 25 Wh/s = 90 kW.
        powers = [v["power_w"]["last"] for v in b[1:] if "power_w" in v]
        assert powers and all(60_000 < p < 120_000 for p in powers), powers
        r = meter("routeb-1")
        assert all(v["instant_power_w"]["last"] == 1234 for v in r)
        # E0 56789 × 0.1 kWh = 5678.9 kWh, kept as Wh-resolution "pulses" (1000 per kWh).
        assert r[-1]["pulses"]["last"] == 5_678_900
        stats = gw.stats()["counters"]
        assert stats["lines"] >= 15 and stats.get("reads", 0) >= 2
    finally:
        stop.set()
        gw.stop()
        col.stop()
        bridge.unplug()
        wisun.close()
