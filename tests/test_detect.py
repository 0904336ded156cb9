"""Detectors at window close, through the pipeline: shade, faults, hot spots, radiation errors,
household watch, tags, people counting — and the sim's injected anomalies found again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gateway.config import Device, GatewayConfig
from gateway.detect import WatchSettings
from gateway.frames import Advert
from gateway.pipeline import Pipeline
from machimori.contract import bthome, pulse, tag
from machimori.contract import mqtt as contract

T0 = 1_785_715_200.0  # 2026-08-03 09:00 JST: the sun is up in Kumagaya
LAT, LON = 36.147, 139.389


def heat_cfg(n: int, interval: float = 60.0) -> GatewayConfig:
    return GatewayConfig(id="gw-01", data_dir=Path("/nonexistent"), summary_interval_s=interval,
                         devices=tuple(Device(id=f"heat-{i}", kind="heat",
                                              address=f"F0:00:00:00:00:{i:02X}", lat=LAT,
                                              lon=LON) for i in range(n)))


def advert(i: int, t: float, packet: int, air: float, lux: float, surface: float) -> Advert:
    sd = bthome.encode_service_data(bthome.heat_node_objects(packet, 90, air, 55.0, lux,
                                                             surface))
    return Advert(f"F0:00:00:00:00:{i:02X}", t, -60, {bthome.SERVICE_UUID: sd})


def run_window(p: Pipeline, t0: float, nodes: list[tuple[float, float, float]],
               jitter: bool = True) -> list:
    rng = np.random.default_rng(int(t0))
    for k in range(6):
        for i, (air, lux, surf) in enumerate(nodes):
            noise = rng.normal(0, 0.05) if jitter else 0.0
            p.on_advert(advert(i, t0 + 10 * k + 0.01 * i, int(t0 // 10 + k) & 0xFF,
                               air + noise, lux, surf + noise))
    return p.tick(t0 + 60)


def validate_all(out: list) -> None:
    for m in out:
        contract.validate(m.message, contract.message_body(m.message, "gw-01", "0" * 16, 1,
                                                           m.body))


def test_shade_radiation_error_and_hot_spot() -> None:
    p = Pipeline(heat_cfg(5))
    p.tick(T0)
    # Three shaded nodes at ~30 °C; node 3 in full sun reads 33 °C (a sunlit shield);
    # node 4 is in the sun at the right air temperature but stands over hot asphalt.
    nodes = [(30.0, 9_000.0, 33.0), (30.2, 9_500.0, 33.5), (29.9, 8_800.0, 32.8),
             (33.0, 80_000.0, 36.0), (30.1, 80_000.0, 58.0)]
    out = run_window(p, T0, nodes)
    validate_all(out)
    state = {m.body["device"]: m.body["state"] for m in out if m.message == "summary"}
    assert [state[f"heat-{i}"]["sun"] for i in range(5)] == ["shade"] * 3 + ["sun"] * 2
    events = {(m.kind, m.body["device"]) for m in out if m.message == "event"}
    assert ("radiation_error", "heat-3") in events
    assert ("surface_hot_spot", "heat-4") in events and state["heat-4"]["hot_spot"]
    assert not any(k == "radiation_error" and d != "heat-3" for k, d in events)
    # The next window with the same conditions raises nothing new (events on change only).
    again = run_window(p, T0 + 60, nodes)
    kinds = {m.kind for m in again if m.message == "event"}
    assert not kinds & {"radiation_error", "surface_hot_spot"}


def test_stuck_sensor_is_a_fault_event() -> None:
    p = Pipeline(heat_cfg(1))
    p.tick(T0)
    out = []
    for w in range(6):  # 36 identical readings: a stuck sensor (30 in a row is the limit)
        out += run_window(p, T0 + 60 * w, [(31.25, 50_000.0, 40.0)], jitter=False)
    faults = [m.body for m in out if m.kind == "sensor_fault"]
    assert len(faults) == 1 and "stuck" in faults[0]["data"]["faults"]
    assert faults[0]["priority"] == 0


def test_silent_node_after_its_learnt_interval() -> None:
    p = Pipeline(heat_cfg(1))
    p.tick(T0)
    run_window(p, T0, [(30.0, 50_000.0, 40.0)])
    quiet = p.tick(T0 + 60 * 5)  # five minutes without a word from a node that spoke every 10 s
    assert [m.body["device"] for m in quiet if m.kind == "sensor_silent"] == ["heat-0"]


def meter_cfg() -> GatewayConfig:
    return GatewayConfig(id="gw-01", data_dir=Path("/nonexistent"), summary_interval_s=600.0,
                         devices=(Device(id="meter-001", kind="meter", household="hh-1"),))


def test_no_sign_of_life_after_learning() -> None:
    watch = WatchSettings(learn_days=7.0)
    p = Pipeline(meter_cfg(), watch=watch)
    p.tick(T0)
    count, seq, t = 0.0, 0, T0
    rng = np.random.default_rng(3)
    events = []
    days = 10
    while t < T0 + days * 86400:
        h = ((t + 9 * 3600) % 86400) / 3600
        alive = t < T0 + 8.5 * 86400  # after 8.5 days the household stops using anything
        watts = (150 + (900 if 6 <= h < 9 or 18 <= h < 22 else 0)
                 + rng.uniform(0, 200)) if alive else 40.0
        count += watts * 60 / 3600  # Wh per minute = pulses at 1000/kWh
        p.on_pulse_line("meter-001", pulse.encode(seq, int(count), seq * 60), t)
        seq += 1
        t += 60
        events += [m.body for m in p.tick(t) if m.message == "event"]
    kinds = [(e["kind"], e["ts"]) for e in events]
    nsl = [ts for k, ts in kinds if k == "no_sign_of_life"]
    assert nsl, kinds
    assert T0 + 8.5 * 86400 < nsl[0] < T0 + 9.5 * 86400  # found within a day, not before
    assert all(e["priority"] == 2 for e in events if e["kind"] == "no_sign_of_life")
    assert events[0]["data"]["household"] == "hh-1"


def test_tag_not_seen_and_people_counting() -> None:
    key = bytes(range(16))
    cfg = GatewayConfig(id="gw-01", data_dir=Path("/nonexistent"), summary_interval_s=60.0,
                        devices=(Device(id="tag-1", kind="tag", key=key, person="p-1"),))
    p = Pipeline(cfg, watch=WatchSettings(learn_days=0.5, tag_floor_s=2 * 3600),
                 people_secret=b"s" * 32)
    p.tick(T0)
    events = []
    t = T0
    while t < T0 + 86400:  # seen every 10 min for a day, then gone
        md = tag.encode(key, t, 10, 0, 90, 0)
        p.on_advert(Advert("11:22:33:44:55:66", t, -70, manufacturer_data={0xFFFF: md}))
        t += 600
        events += [m for m in p.tick(t) if m.message == "event"]
    assert events == []
    out = p.tick(t + 3 * 3600)
    gone = [m.body for m in out if m.kind == "tag_not_seen"]
    assert [(g["device"], g["data"]["person"]) for g in gone] == [("tag-1", "p-1")]
    # People: 300 phones in one minute, 100 of them still there the next minute.
    rng = np.random.default_rng(5)
    macs = [":".join(f"{b:02X}" for b in rng.integers(0, 256, 6)) for _ in range(300)]
    t1 = t + 3 * 3600 + 60
    for k, m in enumerate(macs):  # each phone heard twice (once is screened out)
        for dt_s in (0.0, 30.0):
            p.on_advert(Advert(m, t1 + k * 0.1 + dt_s, -70,
                               manufacturer_data={0x004C: b"\x10\x05"}))
    first = next(m.body for m in p.tick(t1 + 60) if m.kind == "people")
    assert first["values"]["unique_devices"]["last"] == pytest.approx(300, rel=0.1)
    assert first["device"] == "gw-01"
    for k, m in enumerate(macs[:100]):
        p.on_advert(Advert(m, t1 + 60 + k * 0.1, -70))
    second = next(m.body for m in p.tick(t1 + 120) if m.kind == "people")
    assert second["values"]["unique_devices"]["last"] == pytest.approx(100, rel=0.1)
    out = p.tick(t1 + 60 * 10)  # everyone has left: dwell times close
    validate_all(out)
    # Raw addresses never leave: nothing pending mentions one.
    assert not any(m in repr(x.body) for x in out for m in macs)


def test_sim_anomalies_are_found_again() -> None:
    """The sim's ground truth (an SOS and a fall) comes out of the pipeline as events."""
    from gateway.config import SimSourceConfig
    from sim.commands import gateway_configs
    from sim.source import SimSource
    from sim.town import build_town, sim_epoch

    town = build_town(1)
    want = {(a.device, a.kind) for a in town.anomalies
            if a.kind in ("sos", "fall") and a.at < 40 * 60}
    found = set()
    for cfg in gateway_configs(town, Path("/nonexistent"), "mqtt://x", SimSourceConfig()):
        src = SimSource(town, cfg.id)
        p = Pipeline(cfg)
        t = sim_epoch()
        src.poll(t)
        p.tick(t)
        for _ in range(40):  # 40 simulated minutes
            t += 60
            adverts, lines = src.poll(t)
            for a in adverts:
                p.on_advert(a)
            for dev, raw, ts in lines:
                p.on_pulse_line(dev, raw, ts)
            found |= {(m.body["device"], m.kind) for m in p.tick(t)
                      if m.kind in ("sos", "fall")}
    assert found == want


def test_people_are_counted_in_their_own_window() -> None:
    p = Pipeline(heat_cfg(0), people_secret=b"k" * 32)
    p.tick(T0)
    phones = [f"C0:00:00:00:00:{i:02X}" for i in range(6)]
    for i, m in enumerate(phones):  # three in the first window, three in the next
        p.on_advert(Advert(m, T0 + 45 + 5 * i, -70))
        p.on_advert(Advert(m, T0 + 45.5 + 5 * i, -70))
    first = [m.body for m in p.tick(T0 + 65) if m.kind == "people"]
    assert [(b["start"], b["end"], b["values"]["unique_devices"]["last"]) for b in first] == [
        (T0, T0 + 60, 3.0)]
    tail = [m.body for m in p.flush(T0 + 100) if m.kind == "people"]
    assert [(b["start"], b["end"], b["values"]["unique_devices"]["last"]) for b in tail] == [
        (T0 + 60, T0 + 100, 3.0)]
