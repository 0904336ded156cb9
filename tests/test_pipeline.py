"""The gateway's pure core, fed frames by hand: no sockets, no clock."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest

from gateway.config import Device, GatewayConfig
from gateway.frames import Advert
from gateway.outbox import Outbox
from gateway.pipeline import Pipeline, emit
from machimori.contract import bthome, pulse, tag
from machimori.contract import mqtt as contract

ADDR = "F0:00:00:00:00:01"
KEY = bytes(range(16))
T0 = 1_785_715_200.0  # a window boundary (multiple of 60)


def config(tmp: Path | None = None) -> GatewayConfig:
    return GatewayConfig(
        id="gw-01", data_dir=tmp or Path("/nonexistent"), summary_interval_s=60.0,
        devices=(Device(id="heat-001", kind="heat", address=ADDR, lat=36.1, lon=139.3,
                        name="駅前"),
                 Device(id="tag-001", kind="tag", key=KEY, person="p-1"),
                 Device(id="meter-001", kind="meter", pulses_per_kwh=1000.0)))


def heat_advert(t: float, packet: int, air: float, rh: float, lux: float,
                surface: float) -> Advert:
    sd = bthome.encode_service_data(bthome.heat_node_objects(packet, 90, air, rh, lux, surface))
    return Advert(ADDR, t, -60, {bthome.SERVICE_UUID: sd})


def test_heat_window_summary_and_wbgt() -> None:
    p = Pipeline(config())
    p.tick(T0)
    airs = [30.0, 31.0, 32.5, 31.0, 30.5, 32.0]  # every 10 s: the node never goes quiet
    for i, air in enumerate(airs):
        p.on_advert(heat_advert(T0 + 10 * i, i, air, 60.0, 55_000.0, 45.0))
        p.on_advert(heat_advert(T0 + 10 * i + 0.1, i, air, 60.0, 55_000.0, 45.0))  # repeat
    assert p.all_counters()["rejected_bthome_duplicate_packet"] == len(airs)
    out = p.tick(T0 + 60)
    summaries = [m for m in out if m.message == "summary"]
    assert len(summaries) == 1
    s = summaries[0].body
    assert s["n"] == len(airs) and s["start"] == T0 and s["end"] == T0 + 60
    assert s["values"]["air_c"] == {"mean": pytest.approx(np.mean(airs), abs=1e-3),
                                    "min": 30.0, "max": 32.5, "last": 32.0}
    assert s["values"]["surface_c"]["mean"] == pytest.approx(45.0)
    # MOE estimate with SR = lux / 110 / 1000 kW/m² and 1 m/s wind, computed here by hand.
    sr = 55_000.0 / 110 / 1000
    want = [0.735 * t + 0.0374 * 60 + 0.00292 * t * 60 + 7.619 * sr - 4.557 * sr ** 2 - 0.0572
            - 4.064 for t in airs]
    assert s["values"]["wbgt_c"]["mean"] == pytest.approx(np.mean(want), abs=1e-3)
    level = sum(np.mean(want) >= b for b in (21, 25, 28, 31))
    assert s["wbgt_level"] == level
    assert s["place"] == {"lat": 36.1, "lon": 139.3, "name": "駅前"}
    events = [m for m in out if m.message == "event"]
    assert [e.kind for e in events] == ["wbgt_level"]
    assert events[0].body["data"]["to"] == level


def test_level_hysteresis_does_not_flap() -> None:
    p = Pipeline(config())
    p.tick(T0)
    # Around the 28 °C bound: WBGT 28.3, then 27.8 (within the 0.5 °C hysteresis), then 27.3.
    sr = 40_000.0 / 110 / 1000
    slope = 0.735 + 0.00292 * 60
    const = 0.0374 * 60 + 7.619 * sr - 4.557 * sr ** 2 - 0.0572 - 4.064
    levels = []
    for k, air in enumerate([(w - const) / slope for w in (28.3, 27.8, 27.3)]):
        p.on_advert(heat_advert(T0 + 60 * k + 1, k, air, 60.0, 40_000.0, 40.0))
        out = p.tick(T0 + 60 * (k + 1))
        levels.append(next(m.body for m in out if m.message == "summary")["wbgt_level"])
    assert levels == [3, 3, 2]


def test_bad_and_unknown_adverts_are_counted_not_raised() -> None:
    p = Pipeline(config())
    p.on_advert(Advert(ADDR, T0, -60, {bthome.SERVICE_UUID: b"\x40\x02\x01"}))  # truncated
    p.on_advert(Advert(ADDR, T0, -60, {bthome.SERVICE_UUID: b"\x20\x02\x01\x02"}))  # version 1
    p.on_advert(Advert(ADDR, T0, -60, {bthome.SERVICE_UUID: b""}))
    p.on_advert(Advert("AA:AA:AA:AA:AA:AA", T0, -60, {bthome.SERVICE_UUID: b"\x40"}))
    p.on_advert(Advert("AA:AA:AA:AA:AA:AB", T0, -60, manufacturer_data={0xFFFF: b"\x01"}))
    p.on_advert(Advert("AA:AA:AA:AA:AA:AC", T0, -60, manufacturer_data={0x004C: b"\x02\x15"}))
    p.on_pulse_line("meter-001", b"\x00garbage\r\n", T0)
    c = p.all_counters()
    assert c["rejected_bthome_truncated"] == 2 and c["rejected_bthome_version"] == 1
    assert c["unknown_device"] == 1 and c["rejected_tag_format"] == 1
    assert c["rejected_ibeacon_truncated"] == 1 and c["rejected_pulse_line"] == 1
    assert c["readings"] == 0 and c["adverts"] == 6


def test_sos_is_one_event_per_incident() -> None:
    p = Pipeline(config())
    p.tick(T0)
    for i in range(5):  # the tag repeats its SOS advert
        md = tag.encode(KEY, T0 + i, 10, tag.FLAG_SOS, 80, 1)
        p.on_advert(Advert("11:22:33:44:55:66", T0 + i, -70, manufacturer_data={0xFFFF: md}))
    md = tag.encode(KEY, T0 + 9, 10, tag.FLAG_SOS, 80, 3)  # a second incident
    p.on_advert(Advert("11:22:33:44:55:66", T0 + 9, -70, manufacturer_data={0xFFFF: md}))
    out = p.tick(T0 + 60)
    sos = [m.body for m in out if m.message == "event"]
    assert [(e["kind"], e["priority"], e["data"]["event_counter"]) for e in sos] == [
        ("sos", 3, 1), ("sos", 3, 3)]
    assert sos[0]["data"]["person"] == "p-1"
    presence = [m.body for m in out if m.message == "summary" and m.kind == "presence"]
    assert presence[0]["n"] == 6 and presence[0]["values"]["rssi"]["mean"] == -70


def test_meter_energy_between_windows() -> None:
    p = Pipeline(config())
    p.tick(T0)
    for i, count in enumerate([1000, 1001, 1003]):
        p.on_pulse_line("meter-001", pulse.encode(i, count, 10 * i), T0 + 20 * i)
    first = next(m.body for m in p.tick(T0 + 60) if m.kind == "meter")
    assert first["values"]["energy_wh"]["last"] == pytest.approx(3.0)  # 3 pulses of 1 Wh
    assert first["values"]["power_w"]["last"] == pytest.approx(3.0 * 3600 / 40, abs=0.1)
    p.on_pulse_line("meter-001", pulse.encode(3, 1010, 70), T0 + 100)
    second = next(m.body for m in p.tick(T0 + 120) if m.kind == "meter")
    assert second["values"]["energy_wh"]["last"] == pytest.approx(7.0)


def test_emit_validates_and_numbers_in_order(tmp_path: Path) -> None:
    p = Pipeline(config(tmp_path))
    p.tick(T0)
    p.on_advert(heat_advert(T0 + 1, 1, 30.0, 60.0, 1000.0, 33.0))
    pending = p.tick(T0 + 60)
    ob = Outbox(tmp_path / "outbox.sqlite")
    seqs = emit("gw-01", pending, ob, now=0.0)
    assert seqs == list(range(1, len(pending) + 1))
    for seq, topic, payload in ob.peek(0, 100):
        info, body = contract.decode_message(topic, payload)  # what the collector will do
        assert body["id"] == f"gw-01:{ob.epoch}:{seq}" and info.gw == "gw-01"
        assert body["schema"] == f"machimori/{info.message}/2" and body["epoch"] == ob.epoch
    bad = [type(pending[0])("summary", "heat", {**pending[0].body, "n": 0})]
    counters: collections.Counter[str] = collections.Counter()
    assert emit("gw-01", bad, ob, now=0.0, counters=counters) == []
    assert counters["invalid_outgoing"] == 1
    ob.close()


def test_outbox_numbers_survive_reopen_and_ack(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.sqlite")
    assert ob.append_many([lambda s: ("t", json.dumps(s).encode())] * 3, 0.0) == [1, 2, 3]
    ob.ack([1, 3])
    assert [r[0] for r in ob.peek(0, 10)] == [2]
    ob.close()
    ob = Outbox(tmp_path / "o.sqlite")
    assert ob.depth() == 1 and ob.last_seq() == 3

    def broken(seq: int) -> tuple[str, bytes]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ob.append_many([lambda s: ("t", b"x"), broken], 0.0)
    assert ob.last_seq() == 3 and ob.depth() == 1  # the failed batch left no trace
    assert ob.append_many([lambda s: ("t", b"y")], 0.0) == [4]
    ob.close()


def test_daemon_keeps_encryption_counters_across_restarts(tmp_path: Path) -> None:
    from gateway.daemon import _restore_counters, _save_counters

    key = bytes(range(16))
    cfg = GatewayConfig(id="gw-01", data_dir=tmp_path, devices=(
        Device(id="heat-001", kind="heat", address=ADDR, key=key),))
    adverts = [Advert(ADDR, T0 + c, -60, {bthome.SERVICE_UUID: bthome.encrypt_service_data(
        [(0x02, 30.0 + c), (0x03, 50.0)], key, ADDR, c)}) for c in (5, 6)]
    first = Pipeline(cfg)
    first.on_advert(adverts[1])
    assert first.counters["readings"] == 1
    _save_counters(first, tmp_path / "c.json")
    second = Pipeline(cfg)  # the gateway restarted
    _restore_counters(second, tmp_path / "c.json")
    second.on_advert(adverts[0])  # a captured older advert, replayed
    assert second.counters["readings"] == 0
    assert second.all_counters()["rejected_bthome_replay"] == 1
    (tmp_path / "bad.json").write_text("{not json")
    third = Pipeline(cfg)
    _restore_counters(third, tmp_path / "bad.json")  # logged, not fatal
    third.on_advert(adverts[0])
    assert third.counters["readings"] == 1
