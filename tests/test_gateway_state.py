"""What a gateway learnt survives SIGKILL: a real `gw run` process (only its radio is a test
double, tests/fake_radio.py), real Mosquitto, kill -9, restart, and nothing relearnt."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from machimori.contract import bthome, tag
from machimori.procs import spawn, wait_for

from .fake_radio import Radio
from .harness import REPO, Managed, Mosquitto

KEY = bytes(range(16))
K = 4  # the test tags rotate every 16 s, so drift builds up in seconds


class Subscriber:
    """Everything the gateway publishes, as the collector would receive it."""

    def __init__(self, port: int):
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="state-test-sub")
        self.c.on_message = self._on
        self.c.on_connect = lambda c, *_: c.subscribe("machimori/v1/gw/#", qos=1)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on(self, _c: Any, _u: Any, msg: Any) -> None:
        if msg.topic.endswith("/status"):
            return
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for t, m in self.messages if t.endswith(f"/event/{kind}")]

    def summaries(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for t, m in self.messages if t.endswith(f"/summary/{kind}")]

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


class RadioGateway(Managed):
    def __init__(self, tmp: Path, mosquitto: Mosquitto, devices: str, extra: str = ""):
        self.dir = tmp
        self.data = tmp / "gw"
        self.radio = Radio(tmp / "adverts.jsonl")
        self.config = tmp / "gw.toml"
        self.config.write_text(
            f'[gateway]\nid = "gw-01"\ndata_dir = "{self.data}"\nsource = "ble"\n'
            'summary_interval_s = 1.0\nstatus_interval_s = 1.0\n\n'
            f'[mqtt]\nurl = "{mosquitto.url}"\n\n[ble]\nwatchdog_s = 3600.0\n\n'
            f'{extra}\n{devices}')

    def start(self) -> RadioGateway:
        self.proc = spawn(["-m", "tests.fake_radio", str(self.radio.path), "--", "gw", "run",
                           "--config", str(self.config)], self.dir / "gw.log",
                          env={"PYTHONPATH": str(REPO)})
        return self

    def alive(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError((self.dir / "gw.log").read_text()[-3000:])
        return True

    def stats(self) -> dict[str, Any]:
        try:
            return json.loads((self.data / "stats.json").read_text())
        except (OSError, ValueError):
            return {}

    def counter(self, name: str) -> int:
        self.alive()
        return int(self.stats().get("counters", {}).get(name, 0))

    def state(self) -> dict[str, Any]:
        try:
            return json.loads((self.data / "state.json").read_text())
        except (OSError, ValueError):
            return {}


TAG = '[[device]]\nid = "tag-1"\nkind = "tag"\nperson = "person-1"\nkey = "' + KEY.hex() + '"\n'


@pytest.fixture
def sub(mosquitto: Mosquitto) -> Iterator[Subscriber]:
    s = Subscriber(mosquitto.port)
    yield s
    s.close()


def test_a_drifted_tags_sos_is_resolved_after_kill_9(tmp_path: Path, mosquitto: Mosquitto,
                                                      sub: Subscriber) -> None:
    gw = RadioGateway(tmp_path, mosquitto, TAG).start()
    try:
        # The tag's clock runs ahead, half a period more at each advert, until it is five
        # periods ahead: the resolver follows it (each advert within ±1 of the last).
        for i, ahead in enumerate(range(0, 81, 8)):
            gw.radio.tag(tag.encode(KEY, time.time() + ahead, K, 0, 80, 0))
            wait_for(lambda i=i: gw.counter("decoded_tag") >= i + 1, 30, f"tag advert {i}")
        wait_for(lambda: gw.state().get("resolver", {}).get("tag-1", {}).get("offset", 0) >= 4,
                 30, "the offset in the snapshot")
        gw.kill()
        gw.start()
        wait_for(lambda: gw.counter("state_restored") == 1, 30, "the restart")
        gw.radio.tag(tag.encode(KEY, time.time() + 80, K, tag.FLAG_SOS, 80, 1))
        wait_for(lambda: bool(sub.events("sos")), 30, "the SOS event")
        sos = sub.events("sos")
        assert [(e["device"], e["data"]["person"], e["data"]["event_counter"]) for e in sos] == [
            ("tag-1", "person-1", 1)]
        # Resolved from the restored offset, not found again by chance.
        assert gw.counter("tag_wide_search_hits") == 0
        assert gw.counter("decoded_tag_unknown") == 0
    finally:
        gw.stop()


def test_sigterm_flushes_the_partial_window_on_the_ble_path(tmp_path: Path,
                                                             mosquitto: Mosquitto,
                                                             sub: Subscriber) -> None:
    heat = ('[[device]]\nid = "heat-1"\nkind = "heat"\naddress = "A4:C1:38:00:00:01"\n'
            'lat = 35.68\nlon = 139.76\n')
    gw = RadioGateway(tmp_path, mosquitto, heat)
    gw.config.write_text(gw.config.read_text().replace("summary_interval_s = 1.0",
                                                       "summary_interval_s = 3600.0"))
    gw.start()
    try:
        sd = bthome.encode_service_data(bthome.heat_node_objects(7, 90, 31.5, 60.0, 20000.0))
        gw.radio.bthome("A4:C1:38:00:00:01", sd)
        wait_for(lambda: gw.counter("readings") >= 1, 30, "the reading")
        assert not sub.summaries("heat")  # the hour-long window is still open
        gw.stop()
        gw.start()  # what the stopping gateway wrote to its outbox is sent now
        wait_for(lambda: bool(sub.summaries("heat")), 30, "the flushed heat summary")
        s = sub.summaries("heat")[0]
        assert s["device"] == "heat-1" and s["n"] == 1
        assert s["values"]["air_c"]["last"] == 31.5
    finally:
        gw.stop()
