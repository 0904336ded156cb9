"""Inputs the gateway cannot trust at face value, through its pure core (time passed in):
missing or saturated heat inputs, Route-B's coarse E0, and the learnt-state snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gateway import state
from gateway.config import Device, GatewayConfig, WatchSettings
from gateway.frames import Advert
from gateway.outbox import Outbox
from gateway.pipeline import Pipeline, emit
from machimori.contract import bthome, tag

ADDR = "F0:00:00:00:00:01"
KEY = bytes(range(16))
T0 = 1_785_715_200.0  # 2026-08-03 09:00 JST: the sun is up
NIGHT = T0 + 13 * 3600  # 22:00 JST


def config(tmp: Path | None = None) -> GatewayConfig:
    return GatewayConfig(
        id="gw-01", data_dir=tmp or Path("/nonexistent"), summary_interval_s=60.0,
        devices=(Device(id="heat-001", kind="heat", address=ADDR, lat=36.1, lon=139.3),
                 Device(id="tag-001", kind="tag", key=KEY, person="p-1"),
                 Device(id="meter-001", kind="meter", household="hh-1")))


def heat(t: float, packet: int, air: float, rh: float | None, lux: float | None) -> Advert:
    objs: list[tuple[int, float]] = [(0x00, packet), (0x01, 90), (0x02, air)]
    if rh is not None:
        objs.append((0x03, rh))
    if lux is not None:
        objs.append((0x05, lux))
    return Advert(ADDR, t, -60, {bthome.SERVICE_UUID: bthome.encode_service_data(objs)})


def window(p: Pipeline, t0: float, readings: list[tuple[float, float | None, float | None]],
           tmp: Path) -> tuple[dict, list]:
    """One minute of readings; the heat summary and the events, as sent (schema-validated)."""
    p.tick(t0)
    for i, (air, rh, lux) in enumerate(readings):
        p.on_advert(heat(t0 + 5 + 10 * i, i, air, rh, lux))
    out = p.tick(t0 + 60)
    box = Outbox(tmp / "outbox.sqlite")
    assert len(emit("gw-01", out, box, t0, p.counters)) == len(out)  # all valid
    box.close()
    summary = next(m.body for m in out if m.kind == "heat")
    return summary, [m.body for m in out if m.message == "event"]


def test_no_humidity_is_no_level_and_a_fault_not_level_0(tmp_path: Path) -> None:
    p = Pipeline(config())
    s, events = window(p, T0, [(33.0, None, 60_000.0)] * 6, tmp_path)
    assert s["wbgt_level"] is None and "wbgt_c" not in s["values"]
    assert s["state"]["faults"] == ["humidity_missing"]
    assert [(e["kind"], e["data"]) for e in events] == [
        ("sensor_fault", {"faults": ["humidity_missing"]})]
    # Once humidity is back the level is known again (33 °C, 60 %, strong sun: 厳重警戒).
    s, events = window(p, T0 + 60, [(33.0, 60.0, 60_000.0)] * 6, tmp_path)
    assert s["wbgt_level"] == 3 and not s["state"]["faults"]
    assert [e["kind"] for e in events] == ["wbgt_level"]


def test_no_lux_by_day_is_no_level_but_at_night_the_sun_is_known_to_be_down(
        tmp_path: Path) -> None:
    p = Pipeline(config())
    s, events = window(p, T0, [(30.0, 70.0, None)] * 6, tmp_path)
    assert s["wbgt_level"] is None and s["state"]["faults"] == ["illuminance_missing"]
    assert [e["data"]["faults"] for e in events if e["kind"] == "sensor_fault"] == [
        ["illuminance_missing"]]
    night = Pipeline(config())
    s, _ = window(night, NIGHT, [(30.0, 70.0, None)] * 6, tmp_path)
    want = 0.735 * 30 + 0.0374 * 70 + 0.00292 * 30 * 70 - 0.0572 - 4.064  # no sun at 22:00
    assert s["values"]["wbgt_c"]["mean"] == pytest.approx(want, abs=1e-3)
    assert s["wbgt_level"] == 2 and not s["state"]["faults"]


def test_a_saturated_light_sensor_is_flagged_and_never_lowers_wbgt(tmp_path: Path) -> None:
    sat = 121_556.0  # the BH1750's full scale at MTreg 31
    p = Pipeline(config())
    s, _ = window(p, T0 + 3 * 3600, [(32.0, 55.0, sat)] * 6, tmp_path)  # 12:00 JST
    assert s["state"]["saturated"] == ["illuminance"]
    sr = sat / 110 / 1000
    as_read = 0.735 * 32 + 0.0374 * 55 + 0.00292 * 32 * 55 + 7.619 * sr - 4.557 * sr ** 2 \
        - 0.0572 - 4.064
    assert s["values"]["wbgt_c"]["mean"] >= as_read - 1e-6
    unsat = Pipeline(config())
    s, _ = window(unsat, T0 + 3 * 3600, [(32.0, 55.0, 90_000.0)] * 6, tmp_path)
    assert "saturated" not in s["state"]


def test_routeb_watts_come_from_e7_and_energy_only_over_half_an_hour() -> None:
    p = Pipeline(config())
    p.tick(T0)
    kwh = 1000.0
    powers = []
    for minute in range(61):
        t = T0 + 60 * minute + 1
        kwh_e0 = np.floor((kwh + 0.3 * minute / 60) * 10) / 10  # 300 W, E0 in 0.1 kWh steps
        p.on_meter_reading("meter-001", t, 300, float(kwh_e0))
        for m in p.tick(T0 + 60 * (minute + 1)):
            if m.kind == "meter":
                powers.append(m.body["values"].get("power_w", {}).get("last"))
                assert m.body["values"]["instant_power_w"]["last"] == 300
    derived = [w for w in powers if w is not None]
    # One value per 30 minutes (never 0 W or 6 kW for a steady 300 W), within one E0 step.
    assert len(derived) == 2 and all(abs(w - 300) <= 200 for w in derived)


def test_continuous_use_fires_on_e7_for_a_load_left_on() -> None:
    cfg = config()
    p = Pipeline(cfg, watch=WatchSettings(learn_days=1.0))
    t = T0
    for _ in range(24 * 60):  # a day of learning: 300 W with the odd 2 kW kettle minute
        p.on_meter_reading("meter-001", t, 2000 if int(t // 60) % 240 == 0 else 300, 1000.0)
        p.tick(t)
        t += 60
    raised = []
    for _ in range(60):  # a 2 kW stove left on for an hour
        p.on_meter_reading("meter-001", t, 2000, 1000.0)
        raised += [m.body for m in p.tick(t) if m.kind == "continuous_use"]
        t += 60
    assert [(e["device"], e["data"]["power_w"]) for e in raised] == [("meter-001", 2000.0)]


def test_snapshot_round_trip_and_a_damaged_file_is_set_aside(tmp_path: Path) -> None:
    p = Pipeline(config())
    p.tick(T0)
    p.on_advert(Advert("C1:00:00:00:00:01", T0 + 1, -60, manufacturer_data={
        tag.COMPANY_ID: tag.encode(KEY, T0 + 1 + 3 * 1024, 10, 0, 80, 0)}))
    p.on_meter_reading("meter-001", T0 + 2, 400, 1000.0)
    window(p, T0, [(30.0, 60.0, 50_000.0)], tmp_path)
    path = tmp_path / state.FILE
    state.save(path, state.snapshot(p))
    q = Pipeline(config())
    assert state.load_into(q, path) == "restored"
    assert state.snapshot(q) == json.loads(path.read_text())
    assert q.decoder.resolver.offset("tag-001") == p.decoder.resolver.offset("tag-001") >= 2
    path.write_text('{"version": 1, "heat": {"heat-001": {"level": "x"}}}')
    r = Pipeline(config())
    assert state.load_into(r, path) == "failed"
    assert not path.exists() and (tmp_path / "state.json.bad").exists()
    assert state.load_into(r, path) == "absent"


def test_a_clock_step_is_told_from_the_monotonic_clock() -> None:
    from gateway.clockstep import StepDetector

    d = StepDetector()
    assert d.observe(1000.0, 5.0) == 0.0
    assert d.observe(1001.2, 6.2) == 0.0  # in step
    assert d.observe(1003.0, 7.0) == 0.0  # 1 s of slew is not a step
    assert d.observe(22603.0 + 1, 8.0) == pytest.approx(21600.0)  # NTP, six hours forward
    assert d.observe(22605.0 - 3600, 9.0) == pytest.approx(-3600.0)  # and an hour back
    sim = StepDetector(speed=60.0)  # the sim's clock runs 60 × faster than the monotonic one
    assert sim.observe(0.0, 0.0) == 0.0
    assert sim.observe(120.0, 2.0) == 0.0
    assert sim.observe(120.0 + 60 + 3600, 3.0) == pytest.approx(3600.0)


def test_time_the_gateway_was_down_is_not_an_absence_but_listening_time_is(
        tmp_path: Path) -> None:
    p = Pipeline(config())
    p.tick(T0)
    for i in range(60):  # heard every minute for an hour
        t = T0 + 60 * i + 1
        p.on_advert(Advert("C1:00:00:00:00:01", t, -60, manufacturer_data={
            tag.COMPANY_ID: tag.encode(KEY, t, 10, 0, 80, 0)}))
        p.tick(T0 + 60 * (i + 1))
    path = tmp_path / state.FILE
    state.save(path, state.snapshot(p))
    q = Pipeline(config())
    assert state.load_into(q, path) == "restored"
    back = T0 + 2 * 86400  # the gateway was off for two days
    q.resume(back)
    first = [m.kind for m in q.tick(back + 60)]
    assert "tag_not_seen" not in first and q.counters["resumed_after_s"] > 86400
    later = [m for h in range(1, 6) for m in q.tick(back + 3600 * h) if m.kind == "tag_not_seen"]
    assert [m.body["device"] for m in later] == ["tag-001"]  # the 4 h floor, listening


def test_watch_settings_are_parsed_once_and_a_typo_is_named() -> None:
    import tomllib

    from gateway.config import ConfigError, dump, parse

    base = {"gateway": {"id": "gw-01", "data_dir": "/tmp/x", "status_interval_s": 5}}
    cfg = parse({**base, "watch": {"learn_days": 2, "high_w": 1500.0}})
    assert (cfg.watch.learn_days, cfg.watch.high_w, cfg.status_interval_s) == (2.0, 1500.0, 5.0)
    assert cfg.watch.margin == WatchSettings().margin
    assert parse(tomllib.loads(dump(cfg))) == cfg
    with pytest.raises(ConfigError, match="watch.learn_dayz: unknown setting"):
        parse({**base, "watch": {"learn_dayz": 1}})
    with pytest.raises(ConfigError, match="watch.margin: must not be negative"):
        parse({**base, "watch": {"margin": -1}})
    with pytest.raises(ConfigError, match="gateway.status_interval_s"):
        parse({"gateway": {**base["gateway"], "status_interval_s": 0}})
