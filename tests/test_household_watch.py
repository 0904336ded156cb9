"""Household watch on real meter data paths: a pulse meter's lines through a pty (the bridge's
byte-exact framing, the gateway's serial reader, the pipeline), a Route-B meter's E7 readings,
and the learnt state across a restart and across a state-layout change.

The household: a 45 W standby load, a refrigerator whose compressor draws 100 W for 14 min of
every 40, and ordinary use by day (breakfast, lunch, an afternoon of television, supper, a
microwave now and then). Its night — supper ends 21:30, breakfast at 06:30 — is nine hours of
refrigerator only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gateway import state
from gateway.config import Device, GatewayConfig, WatchSettings
from gateway.kernels import watch
from gateway.pipeline import Pipeline
from gateway.sources import MeterBridges
from machimori.procs import wait_for
from sim.meter_bridge import MeterBridge

MIDNIGHT = 1_785_682_800.0  # 2026-08-03 00:00 JST
DAY = 86400.0
LEARN_DAYS = 3.0
STOP_AT = MIDNIGHT + 4 * DAY + 8.5 * 3600  # day 5, 08:30: nothing is used after breakfast
SETTINGS = WatchSettings(learn_days=LEARN_DAYS)
HOUSEHOLD_KINDS = ("no_sign_of_life", "morning_rise_missing", "continuous_use")


def household_w(days: float, stop_at: float | None = None, seed: int = 5) -> np.ndarray:
    """Power (W) for every second from MIDNIGHT: standby + refrigerator + ordinary use."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(days * DAY) + 1, dtype=np.float64)
    h = (t % DAY) / 3600.0
    p = 45.0 + np.where((t % 2400.0) < 840.0, 100.0, 0.0)
    use = np.zeros_like(t)
    minute = (t // 60).astype(np.int64)
    jitter = rng.uniform(0.5, 1.5, minute[-1] + 1)[minute]  # use varies minute by minute
    use += np.where((h >= 6.5) & (h < 8.5), 500.0 * jitter, 0.0)  # breakfast, kettle
    use += np.where((h >= 12.0) & (h < 12.7), 450.0 * jitter, 0.0)  # lunch
    use += np.where((h >= 14.0) & (h < 17.0), 120.0, 0.0)  # television
    use += np.where((h >= 18.0) & (h < 21.5), 600.0 * jitter, 0.0)  # supper, bath, lights
    for day in range(int(np.ceil(days))):  # a microwave, 2 min at 1 kW, a few times by day
        for at in rng.uniform(9.0, 21.0, 4):
            s = int(day * DAY + at * 3600)
            use[s:s + 120] += 1000.0
    if stop_at is not None:
        use[int(stop_at - MIDNIGHT):] = 0.0
    return p + use


def pulses(power_w: np.ndarray, pulses_per_kwh: float) -> np.ndarray:
    """The meter's cumulative whole pulses at every second (what its LED has flashed)."""
    wh = np.concatenate(([0.0], np.cumsum(power_w) / 3600.0))
    return np.floor(wh * pulses_per_kwh / 1000.0 + 1e-9).astype(np.int64)


def pulse_cfg(port: str, pulses_per_kwh: float) -> GatewayConfig:
    return GatewayConfig(id="gw-01", data_dir=Path("/nonexistent"), summary_interval_s=60.0,
                         devices=(Device(id="meter-001", kind="meter", household="hh-1",
                                         port=port, pulses_per_kwh=pulses_per_kwh),),
                         watch=SETTINGS)


def read_line(bridges: MeterBridges, now: float) -> list[tuple[str, bytes, float]]:
    """What the gateway's serial reader hands the pipeline once the bridge's line arrives."""
    got: list[tuple[str, bytes, float]] = []
    wait_for(lambda: bool(got.extend(bridges.poll(now)) or got), 10, "the bridge's line",
             every=0.001)
    return got


def run_pulse_meter(power_w: np.ndarray, pulses_per_kwh: float, until: float,
                    p: Pipeline, bridge: MeterBridge, bridges: MeterBridges,
                    start: float = MIDNIGHT) -> list[dict]:
    """One bridge line a minute, through the pty and the gateway's serial reader, from `start`
    to `until`; returns the events the pipeline raised."""
    count = pulses(power_w, pulses_per_kwh)
    events = []
    t = start
    p.tick(t)
    # Connected before the first line, as a gateway is before the bridge speaks.
    wait_for(lambda: not bridges.poll(t) and all(b.connected for b in bridges.bridges.values()),
             10, "the gateway to open the bridge's port")
    while t < until:
        t += 60.0
        bridge.count = int(count[int(t - MIDNIGHT)])
        bridge.line()
        got = read_line(bridges, t)
        for dev, raw, ts in got:
            p.on_pulse_line(dev, raw, ts)
        events += [m.body for m in p.tick(t + 0.5) if m.kind in HOUSEHOLD_KINDS]
    return events


def no_life_window(p: Pipeline) -> float:
    """How long this household may show no activity before the alarm (learnt, × margin)."""
    st, _ = p.meter_watch.state[0]
    return max(SETTINGS.margin * st[watch.M_MAX_FLAT], SETTINGS.flat_floor_s)


def test_pulse_meter_household_stops_and_no_sign_of_life_fires_once(tmp_path: Path) -> None:
    days = 6.0
    power = household_w(days, STOP_AT)
    bridge = MeterBridge(tmp_path / "ttyMETER", start_count=0).plug()
    bridges = MeterBridges(pulse_cfg(str(tmp_path / "ttyMETER"), 1000.0))
    p = Pipeline(pulse_cfg(str(tmp_path / "ttyMETER"), 1000.0))
    out = []
    try:
        count = pulses(power, 1000.0)
        events = run_pulse_meter(power, 1000.0, STOP_AT, p, bridge, bridges)
        # Three days learnt, then a day and a half of ordinary life and a normal night with
        # the refrigerator cycling: nothing raised.
        assert events == []
        st, _ = p.meter_watch.state[0]
        # What was learnt is the night: supper's end to breakfast (9 h), to within an hour.
        assert 8 * 3600 <= st[watch.M_MAX_FLAT] <= 10 * 3600
        # The meter's own resolution is in the data: at night one minute reads 1 or 2 pulses
        # and the next the other, 60 W apart — more than activity_w, yet no activity.
        night = count[int(4 * DAY + 2 * 3600):int(4 * DAY + 4 * 3600):60]
        assert set(np.diff(night)) >= {1, 2}
        events = run_pulse_meter(power, 1000.0, MIDNIGHT + days * DAY, p, bridge, bridges,
                                 start=STOP_AT)
        out = [e for e in events if e["kind"] == "no_sign_of_life"]
    finally:
        bridges.close()
        bridge.unplug()
    assert len(out) == 1, events
    e = out[0]
    assert e["device"] == "meter-001" and e["data"]["household"] == "hh-1"
    assert e["priority"] == 2
    # Raised once the household has been without activity for longer than its nights (× the
    # margin), never before; late by at most two spans (the last use is dated to the start of
    # the first quiet span, and only spans already closed count).
    window = no_life_window(p)
    assert STOP_AT + window < e["ts"] <= STOP_AT + window + 2 * watch.ACTIVITY_SPAN_S + 60
    assert {x["kind"] for x in events} <= {"no_sign_of_life", "morning_rise_missing"}


def test_a_coarse_pulse_meter_is_judged_over_longer_spans(tmp_path: Path) -> None:
    """100 imp/kWh: 10 Wh a pulse, 600 W per one-minute window. The span is lengthened to
    2 × 10 Wh × 3600 / 30 W = 2400 s — still the hour here — and a normal night stays quiet;
    at 10 imp/kWh it grows to 6.7 h, which is what such a meter can resolve."""
    assert watch.judging_span(3600.0, 10.0, 30.0) == 3600.0
    assert watch.judging_span(600.0, 10.0, 30.0) == 2400.0
    assert abs(watch.judging_span(3600.0, 100.0, 30.0) - 24000.0) < 1e-6
    power = household_w(5.0)
    bridge = MeterBridge(tmp_path / "ttyMETER", start_count=0).plug()
    cfg = pulse_cfg(str(tmp_path / "ttyMETER"), 100.0)
    bridges = MeterBridges(cfg)
    p = Pipeline(cfg)
    try:
        events = run_pulse_meter(power, 100.0, MIDNIGHT + 5 * DAY - 60, p, bridge, bridges)
    finally:
        bridges.close()
        bridge.unplug()
    assert events == []


def routeb_cfg(data_dir: Path) -> GatewayConfig:
    """One household's meter read over Route-B (E7 each minute), 60-second windows."""
    return GatewayConfig(id="gw-01", data_dir=data_dir, summary_interval_s=60.0,
                         devices=(Device(id="meter-001", kind="meter", household="hh-1"),),
                         watch=SETTINGS)


def routeb_events(p: Pipeline, power: np.ndarray, start: float, until: float) -> list[dict]:
    """A Route-B meter read once a minute: E7 (instantaneous W, what the watch judges) and E0
    in 0.1 kWh steps."""
    wh = np.concatenate(([0.0], np.cumsum(power) / 3600.0))
    events = []
    t = start
    p.tick(t)
    while t < until:
        t += 60.0
        i = int(t - MIDNIGHT)
        p.on_meter_reading("meter-001", t, float(round(power[i])), float(np.floor(wh[i] / 100.0)
                                                                         / 10.0))
        events += [m.body for m in p.tick(t + 0.5) if m.kind in HOUSEHOLD_KINDS]
    return events


def test_routeb_household_stops_and_no_sign_of_life_fires_once() -> None:
    days = 6.0
    power = household_w(days, STOP_AT, seed=8)
    cfg = routeb_cfg(Path("/nonexistent"))
    p = Pipeline(cfg)
    assert routeb_events(p, power, MIDNIGHT, STOP_AT) == []
    events = routeb_events(p, power, STOP_AT, MIDNIGHT + days * DAY)
    out = [e for e in events if e["kind"] == "no_sign_of_life"]
    assert len(out) == 1, events
    window = no_life_window(p)
    assert STOP_AT + window < out[0]["ts"] <= STOP_AT + window + 2 * watch.ACTIVITY_SPAN_S + 60


def test_restart_mid_span_judges_as_if_never_stopped(tmp_path: Path) -> None:
    """The household's learnt state and its open span go through state.json: a gateway that
    stops at 23:17 and starts again raises the same alarm at the same minute as one that ran on."""
    days = 6.0
    power = household_w(days, STOP_AT, seed=11)
    cfg = routeb_cfg(tmp_path)
    whole = Pipeline(cfg)
    expected = routeb_events(whole, power, MIDNIGHT, MIDNIGHT + days * DAY)
    assert [e["kind"] for e in expected].count("no_sign_of_life") == 1
    first = Pipeline(cfg)
    stop = STOP_AT + 14 * 3600 + 47 * 60  # 23:17, mid-span and before the alarm
    before = routeb_events(first, power, MIDNIGHT, stop)
    state.save(tmp_path / state.FILE, state.snapshot(first))
    again = Pipeline(cfg)
    assert state.load_into(again, tmp_path / state.FILE) == "restored"
    st_a, _ = first.meter_watch.state[0]
    st_b, _ = again.meter_watch.state[0]
    assert np.array_equal(st_a, st_b, equal_nan=True)
    after = routeb_events(again, power, stop, MIDNIGHT + days * DAY)
    assert before + after == expected


def test_an_old_layout_state_file_is_learnt_afresh_not_a_crash(tmp_path: Path) -> None:
    """A state.json written before activity was judged per span (10 values per household):
    that household is learnt afresh; the file's other state is kept."""
    cfg = GatewayConfig(id="gw-01", data_dir=tmp_path, summary_interval_s=60.0,
                        devices=(Device(id="meter-001", kind="meter", household="hh-1"),
                                 Device(id="meter-002", kind="meter", household="hh-2")),
                        watch=SETTINGS)
    p = Pipeline(cfg)
    power = household_w(1.0)
    for i in range(1, 120):
        t = MIDNIGHT + 60 * i
        for dev in ("meter-001", "meter-002"):
            p.on_meter_reading(dev, t, float(power[60 * i]), None)
        p.tick(t + 0.5)
    doc = json.loads(json.dumps(state.snapshot(p)))
    old = doc["meters"]["meter-001"]
    old["state"] = old["state"][:10]  # the old layout's length
    old["prev_flags"] = watch.NO_LIFE
    old["anchor"] = [MIDNIGHT + 7000.0, 1234.0]
    (tmp_path / state.FILE).write_text(json.dumps(doc))
    again = Pipeline(cfg)
    assert state.load_into(again, tmp_path / state.FILE) == "restored"
    assert again.counters["meter_state_relearn"] == 1
    assert 0 not in again.meter_watch.state and again.meter_watch.prev[0] == 0
    assert again._meter_prev["meter-001"] == (MIDNIGHT + 7000.0, 1234.0)  # the register's
    st_kept, _ = again.meter_watch.state[1]
    st_orig, _ = p.meter_watch.state[1]
    assert np.array_equal(st_kept, st_orig, equal_nan=True)
    # Learning starts again at the next reading: no alarm from a state it could not read.
    t = MIDNIGHT + 7300.0
    again.on_meter_reading("meter-001", t, 45.0, None)
    assert [m for m in again.tick(t + 60) if m.kind in HOUSEHOLD_KINDS] == []
    st_new, _ = again.meter_watch.state[0]
    assert st_new[watch.M_LEARN_UNTIL] >= t + 9 * 3600 + LEARN_DAYS * DAY - 61


def test_a_gateway_that_restarts_often_still_judges_activity(tmp_path: Path) -> None:
    """Restarted every 20 min, 2 min down each time (the readings of those minutes lost): the
    open span goes through state.json and `resume`, so every hour is still judged — an ordinary
    day raises nothing, and the household that stops is still found."""
    days = 6.0
    power = household_w(days, STOP_AT, seed=13)
    cfg = routeb_cfg(tmp_path)
    p = Pipeline(cfg)
    learnt = MIDNIGHT + LEARN_DAYS * DAY
    events = routeb_events(p, power, MIDNIGHT, learnt)
    t = learnt
    while t < MIDNIGHT + days * DAY:
        events += routeb_events(p, power, t, t + 18 * 60)
        state.save(tmp_path / state.FILE, state.snapshot(p))
        t += 20 * 60  # killed; back two minutes later
        p = Pipeline(cfg)
        assert state.load_into(p, tmp_path / state.FILE) == "restored"
        p.resume(t)
    assert [e["ts"] for e in events if e["ts"] < STOP_AT] == []
    out = [e for e in events if e["kind"] == "no_sign_of_life"]
    assert len(out) == 1, events
    # Each restart moves the household's clocks on by its two minutes (an outage is no
    # evidence of absence): about 36 of them between the last use and the alarm.
    window = no_life_window(p)
    assert STOP_AT + window < out[0]["ts"] <= STOP_AT + window + 2 * watch.ACTIVITY_SPAN_S + 3600
