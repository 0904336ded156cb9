"""Per-gateway MQTT credentials and the ACL template, against a real Mosquitto."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from machimori.contract import mqtt as contract
from machimori.procs import wait_for
from tests.harness import REPO, Mosquitto

USERS = {"gw-01": "pw-gw-01-secret", "gw-02": "pw-gw-02-secret", "collector": "pw-coll"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    pw = tmp_path / "passwd"
    for i, (user, password) in enumerate(USERS.items()):
        subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(pw), user,
                        password], check=True, capture_output=True)
    # The deployed ACL template itself, not a copy of it.
    m = Mosquitto(tmp_path / "mosquitto", anonymous=False, extra_conf=(
        f"password_file {pw}\nacl_file {REPO / 'deploy' / 'mosquitto' / 'machimori.acl'}\n"))
    m.start()
    yield m.port
    m.stop()


def client(port: int, user: str, password: str, cid: str = "") -> tuple[mqtt.Client, list]:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid or f"test-{user}")
    c.username_pw_set(user, password)
    result: list = []
    done = threading.Event()

    def on_connect(cl, ud, flags, reason, props) -> None:
        result.append(reason)
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    wait_for(done.is_set, 10, f"CONNACK for {user}")
    return c, result


def test_a_gateway_publishes_only_under_its_own_id(broker: int) -> None:
    got: list[tuple[str, bytes]] = []
    coll, r = client(broker, "collector", USERS["collector"])
    assert not r[0].is_failure
    subscribed = threading.Event()
    coll.on_subscribe = lambda *a: subscribed.set()
    coll.on_message = lambda cl, ud, msg: got.append((msg.topic, msg.payload))
    coll.subscribe(contract.subscription(), qos=1)
    wait_for(subscribed.is_set, 10, "SUBACK")
    gw1, r = client(broker, "gw-01", USERS["gw-01"])
    assert not r[0].is_failure
    try:
        own = contract.event_topic("gw-01", "sos")
        forged = contract.event_topic("gw-02", "sos")
        gw1.publish(own, b"mine", qos=1).wait_for_publish(5)
        info = gw1.publish(forged, b"forged", qos=1)
        info.wait_for_publish(5)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS  # the broker accepts it ... and drops it
        gw1.publish(contract.status_topic("gw-01"), b"marker", qos=1).wait_for_publish(5)
        # One connection, QoS 1: the marker arrives after anything published before it.
        wait_for(lambda: any(p == b"marker" for _, p in got), 10, "the marker")
        assert got == [(own, b"mine"), (contract.status_topic("gw-01"), b"marker")]
    finally:
        for c in (gw1, coll):
            c.disconnect()
            c.loop_stop()


def test_a_collector_cannot_publish_and_a_wrong_password_is_refused(broker: int) -> None:
    got: list[bytes] = []
    reader, _ = client(broker, "collector", USERS["collector"], "collector-reader")
    subscribed = threading.Event()
    reader.on_subscribe = lambda *a: subscribed.set()
    reader.on_message = lambda cl, ud, msg: got.append(msg.payload)
    reader.subscribe(contract.subscription(), qos=1)
    wait_for(subscribed.is_set, 10, "SUBACK")
    coll, _ = client(broker, "collector", USERS["collector"], "collector-writer")
    gw2, _ = client(broker, "gw-02", USERS["gw-02"])
    try:
        coll.publish(contract.event_topic("gw-02", "sos"), b"forged", qos=1).wait_for_publish(5)
        # The PUBACK above means the broker has routed (or dropped) the forged message; the
        # marker is sent only now, so it cannot overtake it on the way to the reader.
        gw2.publish(contract.status_topic("gw-02"), b"marker", qos=1).wait_for_publish(5)
        wait_for(lambda: b"marker" in got, 10, "the marker")
        assert got == [b"marker"]
    finally:
        for c in (coll, gw2, reader):
            c.disconnect()
            c.loop_stop()
    bad, r = client(broker, "gw-01", "not-the-password")
    bad.loop_stop()
    assert r[0].is_failure and "not authorized" in str(r[0]).lower()


def test_commands_go_from_the_collector_to_their_own_gateway_only(broker: int) -> None:
    """The collector may write commands; a gateway reads its own and never another's."""
    got: dict[str, list[str]] = {"gw-01": [], "gw-02": []}
    subs = []
    for gw in got:
        c, _ = client(broker, gw, USERS[gw], f"{gw}-cmd")
        done = threading.Event()
        c.on_subscribe = lambda *a, d=done: d.set()
        c.on_message = lambda cl, ud, msg, g=gw: got[g].append(msg.topic)
        c.subscribe("machimori/v1/gw/+/cmd/#", qos=1)  # asks for every gateway's commands
        wait_for(done.is_set, 10, "SUBACK")
        subs.append(c)
    coll, _ = client(broker, "collector", USERS["collector"], "collector-cmd")
    try:
        for gw in ("gw-02", "gw-01"):
            coll.publish(contract.command_topic(gw, "mist-1"), b"{}", qos=1).wait_for_publish(5)
        wait_for(lambda: got["gw-01"] and got["gw-02"], 10, "both commands")
        # Each gateway got its own command and, after it, nothing of the other's.
        coll.publish(contract.command_topic("gw-01", "marker"), b"{}", qos=1).wait_for_publish(5)
        wait_for(lambda: len(got["gw-01"]) == 2, 10, "the marker")
        assert got == {"gw-01": [contract.command_topic("gw-01", "mist-1"),
                                 contract.command_topic("gw-01", "marker")],
                       "gw-02": [contract.command_topic("gw-02", "mist-1")]}
    finally:
        for c in (coll, *subs):
            c.disconnect()
            c.loop_stop()
