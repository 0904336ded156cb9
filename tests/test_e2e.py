"""End to end through real processes and a real Mosquitto: sim -> gateway -> broker -> collector.

Failure scenarios: broker down for 10 s, collector SIGKILLed, gateway SIGKILLed; in every one,
each message a gateway produced is stored exactly once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from machimori.procs import wait_for
from sim.commands import write_town
from sim.town import sim_epoch

from .harness import Collector, Gateway, Mosquitto

SMALL = {"gateways": 2, "nodes": 8, "residents": 8, "households": 4}


def make_town(tmp: Path, url: str, speed: float, sim_minutes: float) -> list[Gateway]:
    _town, paths = write_town(tmp / "town", url, seed=7, speed=speed, sim_start=sim_epoch(),
                             wall_anchor=time.time(), sim_minutes=sim_minutes, **SMALL)
    return [Gateway(p, p.stem, tmp / "town" / p.stem) for p in paths]


def assert_exactly_once(col: Collector, gws: list[Gateway]) -> None:
    for g in gws:
        produced = g.produced()
        assert produced > 0
        assert col.stored_seqs(g.id) == list(range(1, produced + 1)), g.id


def wait_all_stored(col: Collector, gws: list[Gateway], timeout: float = 60) -> None:
    wait_for(lambda: all(len(col.stored_seqs(g.id)) >= g.produced() for g in gws), timeout,
             "every produced message to be stored")


def test_end_to_end_sim_to_api(tmp_path: Path, mosquitto: Mosquitto, db_url: str) -> None:
    col = Collector(tmp_path / "col", mosquitto.url, db=db_url).start()
    gws = make_town(tmp_path, mosquitto.url, speed=600, sim_minutes=10)
    try:
        for g in gws:
            g.start()
        for g in gws:
            assert g.wait_exit(90) == 0
        wait_all_stored(col, gws)
        assert_exactly_once(col, gws)
        sensors = col.get("/api/v1/sensors")["sensors"]
        assert len(sensors) == SMALL["nodes"]
        for s in sensors:
            assert 20 < s["air_c"] < 45 and 5 < s["humidity"] <= 100
            assert s["surface_c"] is not None and s["wbgt_c"] is not None
            assert s["wbgt_level"]["code"] in range(5)
            assert s["wbgt_level"]["ja"] in ("ほぼ安全", "注意", "警戒", "厳重警戒", "危険")
            assert s["lat"] and s["lon"]
        gw_state = dict(col.query("SELECT id, state FROM gateways"))
        assert gw_state == {g.id: "offline" for g in gws}  # each said goodbye when it exited
        health = col.get("/api/v1/health")
        assert health["gateways"]["known"] == len(gws)
    finally:
        for g in gws:
            g.stop()
        col.stop()


def run_through(tmp_path: Path, mosquitto: Mosquitto, sim_minutes: float,
                disrupt: Callable[[Collector, list[Gateway]], None]) -> None:
    """Start a collector and a town, let traffic flow, disrupt, then check exactly once."""
    col = Collector(tmp_path / "col", mosquitto.url).start()
    gws = make_town(tmp_path, mosquitto.url, speed=60, sim_minutes=sim_minutes)
    try:
        for g in gws:
            g.start()
        wait_for(lambda: all(len(col.stored_seqs(g.id)) >= 20 for g in gws), 60,
                 "traffic to flow before the disruption")
        disrupt(col, gws)
        for g in gws:
            assert g.wait_exit(120) == 0
        wait_all_stored(col, gws)
        assert_exactly_once(col, gws)
    finally:
        for g in gws:
            g.stop()
        col.stop()


def test_broker_down_for_10s_loses_nothing(tmp_path: Path, mosquitto: Mosquitto) -> None:
    def outage(col: Collector, gws: list[Gateway]) -> None:
        mosquitto.stop()
        outage_end = time.monotonic() + 10  # the scenario: the broker is away for 10 s
        wait_for(lambda: time.monotonic() >= outage_end, 15, "the outage to last 10 s", 0.2)
        depth = max(g.stats().get("outbox_depth", 0) for g in gws)
        assert depth > 0, "gateways kept producing into their outboxes while the broker was down"
        mosquitto.start()

    run_through(tmp_path, mosquitto, 30, outage)


def test_collector_sigkill_loses_nothing(tmp_path: Path, mosquitto: Mosquitto) -> None:
    def kill(col: Collector, gws: list[Gateway]) -> None:
        col.kill()
        before = sum(g.stats().get("acked", 0) for g in gws)
        # While the collector is dead the broker queues for its persistent session.
        wait_for(lambda: sum(g.stats().get("acked", 0) for g in gws) > before + 20, 30,
                 "gateways to keep publishing while the collector is down")
        col.start()

    run_through(tmp_path, mosquitto, 20, kill)


def test_gateway_sigkill_outbox_delivered_after_restart(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "mosquitto")  # not started yet: the uplink is down
    gws = make_town(tmp_path, broker.url, speed=600, sim_minutes=10)
    g = gws[0]
    g.start(exit_when_drained=False)
    try:
        wait_for(lambda: g.stats().get("counters", {}).get("readings", 0) > 0
                 and g.stats().get("outbox_depth", 0) >= 30, 60,
                 "the gateway to fill its outbox while offline")
        g.kill()
        stranded = g.produced()
        assert stranded >= 30
        broker.start()
        col = Collector(tmp_path / "col", broker.url).start()
        try:
            g.start()
            assert g.wait_exit(120) == 0
            wait_all_stored(col, [g])
            assert_exactly_once(col, [g])
            assert g.produced() > stranded  # the restarted gateway also produced new messages
        finally:
            col.stop()
    finally:
        g.stop()
        broker.stop()


def test_invalid_payload_goes_to_dead_letters(tmp_path: Path, mosquitto: Mosquitto) -> None:
    col = Collector(tmp_path / "col", mosquitto.url).start()
    try:
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rogue")
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        bad = [
            ("machimori/v1/gw/gw-01/summary/heat", b"{not json"),
            ("machimori/v1/gw/gw-01/summary/heat", json.dumps({"schema": "machimori/summary/1",
                                                              "id": "gw-01:1"}).encode()),
            ("machimori/v1/gw/gw-01/event/sos", json.dumps({
                "schema": "machimori/event/1", "id": "gw-02:5", "gw": "gw-02", "seq": 5,
                "kind": "sos", "device": "tag-001", "ts": 1.0, "priority": 3}).encode()),
        ]
        good = json.dumps({"schema": "machimori/event/1", "id": "gw-01:9", "gw": "gw-01",
                           "seq": 9, "kind": "sos", "device": "tag-001", "ts": 1.0,
                           "priority": 3}).encode()
        for topic, payload in bad + [("machimori/v1/gw/gw-01/event/sos", good)]:
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        wait_for(lambda: col.query("SELECT count(*) FROM events")[0][0] == 1, 30,
                 "the valid event after the invalid ones")
        dead = col.query("SELECT topic, payload, reason FROM dead_letters ORDER BY id")
        assert [(t, bytes(p)) for t, p, _ in dead] == bad  # kept byte for byte
        reasons = [r for _, _, r in dead]
        assert "not JSON" in reasons[0]
        assert "is a required property" in reasons[1]
        assert "does not match topic" in reasons[2]
        assert col.proc is not None and col.proc.poll() is None  # no crash
        pub.loop_stop()
        pub.disconnect()
    finally:
        col.stop()


@pytest.mark.parametrize("flag", ["--help"])
def test_cli_help_on_every_level(flag: str) -> None:
    import subprocess
    import sys

    for args in ([], ["demo"], ["gw"], ["gw", "run"], ["collector"], ["collector", "run"],
                 ["collector", "migrate"], ["sim"], ["sim", "configs"], ["sim", "describe"]):
        r = subprocess.run([sys.executable, "-m", "machimori.cli", *args, flag],
                           capture_output=True, text=True, timeout=60, check=False)
        assert r.returncode == 0, (args, r.stderr)
        assert "usage: machimori" in r.stdout
