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

    def start(self, clock_offset_s: float = 0.0) -> RadioGateway:
        self.proc = spawn(["-m", "tests.fake_radio", str(self.radio.path), "--", "gw", "run",
                           "--config", str(self.config)], self.dir / "gw.log",
                          env={"PYTHONPATH": str(REPO),
                               "FAKE_RADIO_CLOCK_OFFSET_S": str(clock_offset_s)})
        proc = self.proc
        wait_for(lambda: self.alive() and self.radio.scanning(proc.pid), 60, "the scanner")
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


def _advertise(gw: RadioGateway, seconds: float, every: float, flags: int = 0) -> None:
    """The tag's schedule: an advert every `every` s for `seconds` (its clock is right)."""
    stop = threading.Event()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        gw.alive()
        gw.radio.tag(tag.encode(KEY, time.time(), 10, flags, 80, 0))
        stop.wait(every)


def _silence(gw: RadioGateway, seconds: float) -> None:
    threading.Event().wait(seconds)  # the tag is out of range: nothing to hear
    gw.alive()


def test_a_hospital_stay_does_not_teach_the_watch_and_kill_9_does_not_forget(
        tmp_path: Path, mosquitto: Mosquitto, sub: Subscriber) -> None:
    watch = f"[watch]\ntag_floor_s = 3.0\nmargin = 1.5\nlearn_days = {12 / 86400}\n"
    gw = RadioGateway(tmp_path, mosquitto, TAG, watch).start()
    try:
        # Learning normal life: heard every second, with a 4 s gap now and then.
        _advertise(gw, 3, 1.0)
        _silence(gw, 4)
        _advertise(gw, 3, 1.0)
        wait_for(lambda: gw.state().get("tags", {}).get("tag-1", {}).get("max_gap", 0) >= 3.5,
                 30, "the learnt gap")
        _advertise(gw, 3, 1.0)  # learning is over
        learnt = len(sub.events("tag_not_seen"))  # the floor (3 s) alarms while learning
        # Learnt: a 4 s gap is normal now (threshold 1.5 × 4 s).
        _silence(gw, 4)
        _advertise(gw, 3, 1.0)
        assert len(sub.events("tag_not_seen")) == learnt
        # The hospital stay: 12 s unheard raises the alarm; the person comes back.
        _silence(gw, 12)
        wait_for(lambda: len(sub.events("tag_not_seen")) == learnt + 1, 30, "the absence alarm")
        _advertise(gw, 3, 1.0)
        wait_for(lambda: gw.state().get("tags", {}).get("tag-1", {}).get("missing") is False,
                 30, "the return in the snapshot")
        assert gw.state()["tags"]["tag-1"]["max_gap"] < 6  # the stay was not learnt
        gw.kill()
        gw.start()
        wait_for(lambda: gw.counter("state_restored") == 1, 30, "the restart")
        # A normal 4 s gap after the restart is still normal (the learnt gap was kept) ...
        _advertise(gw, 3, 1.0)
        _silence(gw, 4)
        _advertise(gw, 3, 1.0)
        assert len(sub.events("tag_not_seen")) == learnt + 1
        # ... and the next absence raises the alarm well before the 18 s the stay would teach.
        gone = time.time()
        wait_for(lambda: len(sub.events("tag_not_seen")) == learnt + 2, 30,
                 "the second absence alarm")
        raised = sub.events("tag_not_seen")[-1]
        assert raised["device"] == "tag-1" and raised["data"]["person"] == "person-1"
        assert raised["ts"] - gone < 12
    finally:
        gw.stop()


def test_a_clock_step_after_a_restart_raises_no_absence(tmp_path: Path, mosquitto: Mosquitto,
                                                        sub: Subscriber) -> None:
    stale = -6 * 3600.0  # a Pi without RTC booted with a clock six hours behind
    gw = RadioGateway(tmp_path, mosquitto, TAG).start(clock_offset_s=stale)
    try:
        wait_for(lambda: gw.stats().get("gw") == "gw-01", 30, "the gateway")
        _advertise(gw, 3, 1.0)
        wait_for(lambda: gw.state().get("tags", {}).get("tag-1", {}).get("last_seen")
                 is not None, 30, "the tag in the snapshot")
        gw.kill()
        gw.start(clock_offset_s=stale)
        wait_for(lambda: gw.counter("state_restored") == 1, 30, "the restart")
        _advertise(gw, 3, 1.0)
        gw.radio.clock_step(-stale)  # NTP steps the clock six hours forward
        wait_for(lambda: gw.counter("clock_steps") == 1, 30, "the step to be noticed")
        _advertise(gw, 3, 1.0)
        gw.radio.tag(tag.encode(KEY, time.time(), 10, tag.FLAG_SOS, 80, 1))
        wait_for(lambda: bool(sub.events("sos")), 30, "the SOS after the step")
        assert not sub.events("tag_not_seen")  # six hours of "silence" that never happened
        # The windows moved with the clock: none of the 21,600 one-second windows the jump
        # skipped was closed (each would be a pass over every detector).
        assert gw.stats()["kernel_timings"]["windows"] < 200
    finally:
        gw.stop()


def test_a_2kw_load_left_on_alarms_right_after_kill_9(tmp_path: Path, mosquitto: Mosquitto,
                                                       sub: Subscriber) -> None:
    """Route-B through the sim's Wi-SUN module on a pty: the watch judges the meter's own
    instantaneous power (E7); the household learnt before the kill is not relearnt after it."""
    from gateway import skstack as sk
    from sim.pty_device import PtyDevice
    from sim.routeb import DEFAULT_PASSWORD, DEFAULT_RBID, SmartMeter, WisunModule

    watts = [300]
    module = WisunModule(sk.LAYOUTS["BP35C2"], SmartMeter(power_w=lambda: watts[0],
                                                          energy_count=56789))
    wisun = PtyDevice(module.feed).open()
    cred = tmp_path / "routeb.json"
    cred.write_text(json.dumps({"rbid": DEFAULT_RBID, "password": DEFAULT_PASSWORD}))
    learn_s = 40.0
    extra = (f'[routeb]\nport = "{wisun.port}"\ncredentials_file = "{cred}"\ninterval_s = 10.0\n\n'
             f"[watch]\nlearn_days = {learn_s / 86400}\nhigh_w = 1500.0\nhigh_floor_s = 15.0\n")
    meter = f'[[device]]\nid = "meter-1"\nkind = "meter"\nhousehold = "hh-1"\nport = "{wisun.port}"\n'
    gw = RadioGateway(tmp_path, mosquitto, meter, extra)

    def learnt() -> bool:
        st = gw.state().get("meters", {}).get("meter-1", {}).get("state")
        return bool(st) and st[5] < st[8]  # learning ended before the last reading

    try:
        gw.start()
        wait_for(learnt, 120, "the household to be learnt")
        gw.kill()
        watts[0] = 2000  # the stove is switched on and left on
        restarted = time.time()
        gw.start()
        wait_for(lambda: bool(sub.events("continuous_use")), 120, "continuous_use")
        ev = sub.events("continuous_use")[0]
        assert ev["device"] == "meter-1" and ev["data"] == {"household": "hh-1",
                                                            "power_w": 2000.0}
        # A watch that started learning again could not alarm before learn_s had passed.
        assert ev["ts"] - restarted < learn_s
        meters = sub.summaries("meter")
        assert {m["values"]["instant_power_w"]["last"] for m in meters} == {300, 2000}
        # E0 moves in 0.1 kWh steps: no power is derived from it over these short spans.
        assert not [m for m in meters if "power_w" in m["values"]]
    finally:
        gw.stop()
        wisun.close()


def test_the_systemd_unit_starts_the_gateway_after_time_sync() -> None:
    """A Pi has no RTC: the unit waits for the first NTP sync (systemd-time-wait-sync orders
    time-sync.target after it), so the common clock step happens before the gateway starts."""
    import configparser

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(REPO / "deploy/systemd/machimori-gateway.service")
    for key in ("After", "Wants"):
        names = unit["Unit"][key].split()
        assert "time-sync.target" in names and "systemd-time-wait-sync.service" in names, key


def test_the_days_people_screening_survives_kill_9(tmp_path: Path, mosquitto: Mosquitto,
                                                   sub: Subscriber) -> None:
    """Phones heard once before a kill and once after are two sightings of the same phone that
    day: counted, not dropped as "heard once" by a gateway that forgot its morning."""
    before = [f"C2:00:00:00:01:{i:02X}" for i in range(20)]
    gw = RadioGateway(tmp_path, mosquitto, TAG).start()

    def day_unique() -> float:
        got = sub.summaries("people")
        return got[-1]["values"]["day_unique"]["last"] if got else -1.0

    try:
        for a in before:  # once each: not (yet) people
            gw.radio.phone(a)
        wait_for(lambda: gw.counter("people_excluded_once") >= 20, 30, "the first sightings")
        wait_for(lambda: bool(gw.state().get("people", {}).get("screen", {}).get("slots")), 30,
                 "the screening table in the snapshot")
        assert day_unique() == 0.0
        gw.kill()
        gw.start()
        wait_for(lambda: gw.counter("state_restored") == 1, 30, "the restart")
        for a in before:  # the same phones again, once each
            gw.radio.phone(a)
        wait_for(lambda: day_unique() == 20.0, 30, "the 20 phones counted across the restart")
        assert "C2:00:00:00:01" not in (gw.data / "state.json").read_text()
    finally:
        gw.stop()
