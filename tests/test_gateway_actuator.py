"""The gateway's actuator relay: commands from a real Mosquitto, lines to the device on a pty,
acks back; bad payloads, unknown devices, expired commands, a silent device, line noise."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.actuators import ANSWER_S, Actuators, CommandRelay
from gateway.config import parse
from machimori.contract import actuator as ac
from machimori.contract import mqtt as contract
from machimori.procs import wait_for
from sim.actuator import SimActuator
from sim.pty_device import PtyDevice

from .harness import Mosquitto


def command(cid: str, device: str = "mist-1", gw: str = "gw-01", **kw: object
            ) -> tuple[str, bytes]:
    body = {"schema": "machimori/command/1", "id": cid, "gw": gw, "device": device,
            "action": "on", "hold_s": 600, "ts": 1000.0, **kw}
    return contract.command_topic(gw, device), json.dumps(body).encode()


def acks_of(out: list[tuple[str, bytes]]) -> list[dict]:
    return [json.loads(p) for _, p in out]


def test_relay_turns_a_command_into_the_line_and_the_answer_into_an_ack() -> None:
    r = CommandRelay("gw-01", ("mist-1",))
    write, ack = r.command(*command("c1", wind_ms=6.25), now=1000.0)
    assert ack is None and write == ("mist-1", ac.encode_command(ac.Command("c1", "on", 600, 62)))
    out = r.feed("mist-1", ac.encode_ack(ac.Ack("c1", "refused", "wind", False)), 1000.5)
    [a] = acks_of(out)
    assert out[0][0] == "machimori/v1/gw/gw-01/ack"
    assert a == {"schema": "machimori/ack/1", "id": "c1", "gw": "gw-01", "device": "mist-1",
                 "result": "refused", "reason": "wind", "on": False, "ts": 1000.5}
    assert r.pending == {}


def test_relay_refuses_what_it_cannot_trust_or_deliver() -> None:
    r = CommandRelay("gw-01", ("mist-1",))
    for topic, raw in [command("c1", gw="gw-02"),            # another gateway's command
                       ("machimori/v1/gw/gw-01/cmd/mist-1", b"{not json"),
                       command("c 1"),                           # id breaks the schema
                       command("c1", device="mist-2")[:1] + command("c1")[1:]]:  # topic/device
        assert r.command(topic, raw, 1000.0) == (None, None)
    assert r.counters["rejected_commands"] == 4
    _, ack = r.command(*command("c2", device="fan-9"), now=1000.0)
    assert ack is not None and acks_of([ack])[0]["reason"] == "unknown_device"
    _, ack = r.command(*command("c3", expires=999.0), now=1000.0)
    assert ack is not None and acks_of([ack])[0]["reason"] == "expired"
    # The device never answers c4: failed after ANSWER_S, once.
    r.command(*command("c4"), now=1000.0)
    assert r.expire(1000.0 + ANSWER_S - 0.1) == []
    [late] = acks_of(r.expire(1000.0 + ANSWER_S + 0.1))
    assert (late["id"], late["result"], late["reason"]) == ("c4", "failed", "no_answer")
    assert r.expire(2000.0) == []


def test_relay_drops_noise_and_acks_nobody_asked_for() -> None:
    r = CommandRelay("gw-01", ("mist-1",))
    good = ac.encode_ack(ac.Ack("zz", "done", None, True))
    bad_crc = good[:-6] + b"0000\r\n"
    state = ac.encode_state(ac.State(3, True, 6120, False, 42))
    out = r.feed("mist-1", b"\x00\xffnoise\r\n" + bad_crc + good + state + b"x" * 200, 5.0)
    # Only the state line goes on: as the device's retained state.
    assert [(t, json.loads(p)) for t, p in out] == [("machimori/v1/gw/gw-01/actuator/mist-1", {
        "schema": "machimori/actuator-state/1", "gw": "gw-01", "device": "mist-1", "on": True,
        "rh": 61.2, "override": False, "on_s": 42, "ts": 5.0})]
    assert r.counters["rejected_actuator_checksum"] == 1
    assert r.counters["rejected_actuator_format"] == 1
    assert r.counters["unexpected_acks"] == 1
    assert r.counters["rejected_line_too_long"] == 1
    assert r.states["mist-1"] == {"on": True, "rh": 61.2, "override": False, "on_s": 42,
                                  "ts": 5.0}


def test_commands_through_mosquitto_to_the_device_on_a_pty(tmp_path: Path,
                                                           mosquitto: Mosquitto) -> None:
    device = SimActuator(rh=50.0).plug()
    silent = PtyDevice(None).open()  # wired, powered off: never answers
    cfg = parse({"gateway": {"id": "gw-01", "data_dir": str(tmp_path / "gw"), "source": "sim"},
                 "mqtt": {"url": mosquitto.url},
                 "device": [{"id": "mist-1", "kind": "actuator", "port": device.port},
                            {"id": "fan-2", "kind": "actuator", "port": silent.path},
                            {"id": "fan-3", "kind": "actuator", "port": str(tmp_path / "none")}]})
    acts = Actuators(cfg).start()
    got: list[dict] = []
    host, port = mosquitto.url.removeprefix("mqtt://").split(":")
    coll = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-coll")
    subscribed = threading.Event()
    coll.on_subscribe = lambda *a: subscribed.set()
    coll.on_message = lambda c, u, m: got.append(json.loads(m.payload))
    coll.connect(host, int(port))
    coll.loop_start()
    coll.subscribe(contract.ack_topic("gw-01"), qos=1)
    stop = threading.Event()

    def loop() -> None:  # the daemon's tick
        while not stop.wait(0.05):
            acts.poll()
    t = threading.Thread(target=loop, daemon=True)
    try:
        wait_for(lambda: subscribed.is_set() and acts.client.connected.is_set(), 20,
                 "both subscriptions")
        t.start()
        now = time.time()
        for cid, dev in (("c1", "mist-1"), ("c2", "fan-2"), ("c3", "fan-3")):
            coll.publish(*command(cid, device=dev, ts=now, expires=now + 60), qos=1)
        wait_for(lambda: len(got) == 3, 30, "three acks")
        by = {a["id"]: a for a in got}
        assert (by["c1"]["result"], by["c1"]["on"]) == ("done", True) and device.on
        assert (by["c2"]["result"], by["c2"]["reason"]) == ("failed", "no_answer")
        assert (by["c3"]["result"], by["c3"]["reason"]) == ("failed", "port")
        device.rh = 95.0
        coll.publish(*command("c4", ts=now, expires=now + 60), qos=1)
        wait_for(lambda: len(got) == 4, 30, "the refusal")
        assert (got[3]["result"], got[3]["reason"], got[3]["on"]) == ("refused", "humidity",
                                                                       False)
        assert not device.on  # humid air switched the running mist off too
    finally:
        stop.set()
        if t.is_alive():
            t.join(5)
        acts.close()
        coll.disconnect()
        coll.loop_stop()
        device.unplug()
        silent.close()


def test_enroll_an_actuator_needs_its_port(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.config import load
    from machimori.cli import main

    cfg = tmp_path / "gw.toml"
    base = ["gw", "enroll", "--config", str(cfg), "--gateway-id", "gw-07", "--id", "mist-1",
            "--kind", "actuator"]
    assert main(base) != 0
    assert "port" in capsys.readouterr().out
    assert main([*base, "--port", "/dev/ttyUSB3"]) == 0
    [dev] = load(cfg).devices
    assert (dev.id, dev.kind, dev.port) == ("mist-1", "actuator", "/dev/ttyUSB3")
