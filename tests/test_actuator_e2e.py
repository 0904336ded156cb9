"""Cool spots end to end: live WBGT summaries through a real Mosquitto into the collector, whose
controller commands the actuator through the gateway daemon to the device on a pty; the
device's ack comes back and the state shows in the API; the humidity interlock refuses with its
reason; every command is logged and the log survives kill -9 of the collector."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector import actuators as act
from collector.store import connect, migrate
from gateway.config import Device, SimSourceConfig, dump
from machimori.procs import wait_for
from sim.actuator import SimActuator
from sim.commands import gateway_configs
from sim.town import build_town

from .harness import Collector, Gateway, Mosquitto

SPOT = (43.0621, 141.3544)  # far from the sim town, so only the test's sensor is near it


class HeatSensor:
    """A gateway's heat summaries for one sensor beside the spot, as the pipeline sends them."""

    def __init__(self, url: str):
        host, port = url.removeprefix("mqtt://").split(":")
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-heat-gw")
        self.c.connect(host, int(port))
        self.c.loop_start()
        self.seq = 0

    def send(self, wbgt: float) -> None:
        self.seq += 1
        end = time.time()
        stat = {"mean": wbgt, "min": wbgt, "max": wbgt, "last": wbgt}
        body = {"schema": "machimori/summary/1", "id": f"gw-heat:{self.seq}", "gw": "gw-heat",
                "seq": self.seq, "kind": "heat", "device": "heat-spot", "start": end - 60,
                "end": end, "n": 6, "values": {"wbgt_c": stat},
                "place": {"lat": SPOT[0] + 0.0003, "lon": SPOT[1]}, "wbgt_level": 3}
        self.c.publish("machimori/v1/gw/gw-heat/summary/heat", json.dumps(body), qos=1
                       ).wait_for_publish(5)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def test_wbgt_switches_the_mist_on_and_off_and_humidity_refuses(tmp_path: Path,
                                                                 mosquitto: Mosquitto) -> None:
    device = SimActuator(rh=55.0).plug()
    now = time.time()
    town = build_town(3, gateways=1, nodes=1, residents=0, households=0)
    sim = SimSourceConfig(town_seed=3, speed=1.0, sim_start=now, wall_anchor=now, gateways=1,
                          nodes=1, residents=0, households=0)
    cfg = gateway_configs(town, tmp_path / "gw", mosquitto.url, sim)[0]
    cfg = replace(cfg, devices=cfg.devices + (
        Device(id="mist-1", kind="actuator", port=device.port),))
    path = tmp_path / "gw.toml"
    path.write_text(dump(cfg))
    col = Collector(tmp_path / "col", mosquitto.url).start()
    db = connect(col.db)
    migrate(db)
    act.register(db, id="mist-1", gw=cfg.id, lat=SPOT[0], lon=SPOT[1], on_wbgt=28.0,
                 off_wbgt=27.0, min_interval_s=2.0, name="駅前ミスト", now=time.time())
    db.close()
    gw = Gateway(path, cfg.id, cfg.data_dir).start(exit_when_drained=False)
    heat = HeatSensor(mosquitto.url)
    # Commands wait for the gateway's first subscription (after it, its session keeps them).
    wait_for(lambda: (gw.stats().get("actuators") or {}).get("subscribed"), 30,
             "the gateway's command subscription")

    def log() -> list[dict]:
        rows = col.query("SELECT id, action, source, why, result, refusal, ack_on, sent_at, "
                         "acked_at FROM actuator_commands ORDER BY created_at")
        keys = ("id", "action", "source", "why", "result", "refusal", "ack_on", "sent_at",
                "acked_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def spot() -> dict:
        [a] = col.get("/api/v1/actuators")["actuators"]
        return a

    try:
        heat.send(30.2)
        wait_for(lambda: any(c["result"] == "done" for c in log()), 60, "the 'on' ack")
        first = log()[0]
        assert (first["action"], first["source"], first["result"], first["ack_on"]) == (
            "on", "auto", "done", 1)
        assert first["why"] == "WBGT 30.2 >= 28.0"
        assert first["acked_at"] >= first["sent_at"]
        assert device.on and device.commands[0].id == first["id"]
        wait_for(lambda: spot()["state"] == "on", 10, "the map's state")
        assert spot()["wbgt_c"] == 30.2 and spot()["name"] == "駅前ミスト"

        # Cooler: below off_wbgt (hysteresis) -> off; in between nothing changes.
        heat.send(27.5)
        heat.send(26.0)
        wait_for(lambda: spot()["state"] == "off" and not device.on, 30, "switched off")
        offs = [c for c in log() if c["action"] == "off"]
        assert offs and offs[0]["why"] == "WBGT 26.0 < 27.0" and offs[0]["result"] == "done"

        # Humid air: the device refuses by itself, the refusal and its reason are logged.
        device.rh = 91.0
        heat.send(31.0)
        wait_for(lambda: any(c["refusal"] == "humidity" for c in log()), 30, "the refusal")
        refused = next(c for c in log() if c["refusal"] == "humidity")
        assert (refused["action"], refused["result"], refused["ack_on"]) == ("on", "refused", 0)
        assert not device.on and spot()["state"] == "off"

        # The log survives the collector's kill -9; nothing answered is asked again.
        before = {c["id"]: c["result"] for c in log() if c["result"] is not None}
        col.kill()
        col.start()
        after = {c["id"]: c["result"] for c in log()}
        assert all(after[i] == r for i, r in before.items())
        sent_ids = [c.id for c in device.commands]
        assert len(sent_ids) == len(set(sent_ids))  # every command reached the device once

        # A command sent while the gateway is dead (kill -9) reaches the device after its
        # restart: the gateway's command session is persistent.
        gw.kill()
        device.rh = 50.0
        db = connect(col.db)
        a = act.get(db, "mist-1")
        assert a is not None
        cid = act.queue_command(db, a, "on", "admin:test", "manual", None, time.time())
        db.close()
        wait_for(lambda: any(c["id"] == cid and c["sent_at"] for c in log()), 30, "sent")
        gw.start(exit_when_drained=False)
        wait_for(lambda: any(c["id"] == cid and c["result"] == "done" for c in log()), 60,
                 "the ack after the gateway's restart")
        assert device.on and device.commands[-1].id == cid

        # Someone on site flips the override switch: the device stops by itself and its next
        # state line (retained on the broker) puts that on the map.
        device.override = True
        device.state_line()
        wait_for(lambda: spot()["override"] is True and spot()["state"] == "off", 30,
                 "the override on the map")
        assert not device.on
    finally:
        heat.close()
        gw.stop()
        col.stop()
        device.unplug()
