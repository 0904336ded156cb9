"""The sensor-fault kernel must not learn a false "normal": a stuck run, or a new level, would
otherwise make every ordinary reading afterwards a spike — a sensor_fault storm on a healthy node
(seen on the sim's ground truth: a node stuck for three hours, then 'spike' for the rest of the
run). Through the kernel and through the gateway's pipeline and snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gateway import state
from gateway.kernels import faults
from gateway.pipeline import Pipeline

from .test_gateway_inputs import T0, config, window


def flags(x: np.ndarray) -> np.ndarray:
    return faults.fault_flags(x, -40.0, 85.0, 30, 6.0, 0.05, faults.new_fault_state()[0])


def noise(n: int, seed: int, level: float = 28.0) -> np.ndarray:
    return level + np.round(np.random.default_rng(seed).normal(0, 0.15, n), 2)


def test_after_three_hours_stuck_ordinary_readings_are_not_spikes() -> None:
    x = np.concatenate([noise(120, 1), np.full(180, 27.5), noise(240, 2)])
    f = flags(x)
    assert all(f[150:300] & faults.STUCK)  # the stuck run is told
    after = f[300:]
    spikes = np.flatnonzero(after & faults.SPIKE)
    # at most the step back from the stuck value is a spike, and never past the first readings
    assert len(spikes) < faults.SHIFT_AFTER and (spikes < faults.SHIFT_AFTER).all()
    assert not after[faults.SHIFT_AFTER:].any()


def test_a_new_level_is_flagged_briefly_and_a_lone_spike_still_is() -> None:
    x = np.concatenate([noise(200, 3), noise(200, 4, level=31.0)])  # moved into the sun
    x[100] = 36.0  # one wild reading
    f = flags(x)
    assert f[100] & faults.SPIKE and not f[101] & faults.SPIKE
    step = np.flatnonzero(f[200:] & faults.SPIKE)
    assert 0 < len(step) < faults.SHIFT_AFTER and not f[200 + faults.SHIFT_AFTER:].any()


def test_the_pipeline_raises_one_fault_event_per_episode_not_a_storm(tmp_path: Path) -> None:
    p = Pipeline(config())
    t = T0
    kinds: list[list[str]] = []
    shown: list[list[str]] = []  # the faults each heat summary reports
    rng = np.random.default_rng(5)

    def minute(air: float | None = None) -> None:
        nonlocal t
        readings = [(air if air is not None else round(30.0 + rng.normal(0, 0.15), 2),
                     60.0, 50_000.0) for _ in range(6)]
        summary, events = window(p, t, readings, tmp_path)
        shown.append(summary["state"]["faults"])
        kinds.extend(e["data"]["faults"] for e in events if e["kind"] == "sensor_fault")
        t += 60

    for _ in range(60):
        minute()
    for _ in range(180):  # three hours stuck
        minute(29.71)
    for _ in range(120):  # healthy again for two hours
        minute()
    assert kinds[0] == ["stuck"]
    # the step back may be one spike event; two hours of ordinary readings raise nothing more
    assert len(kinds) <= 2 and all(k in (["stuck"], ["spike"]) for k in kinds), kinds
    assert shown[100] == ["stuck"]
    # what planners see on the map: the node is healthy again a few minutes after it recovers
    assert shown[245:] == [[]] * 115


def test_a_snapshot_from_before_the_spike_counter_restores(tmp_path: Path) -> None:
    p = Pipeline(config())
    window(p, T0, [(30.0, 60.0, 50_000.0)] * 6, tmp_path)
    doc = state.snapshot(p)
    for ch in doc["heat"]["heat-001"]["faults"].values():
        del ch[faults.F_SPIKES:]  # the five fields an older gateway wrote
    path = tmp_path / state.FILE
    path.write_text(json.dumps(doc))
    q = Pipeline(config())
    assert state.load_into(q, path) == "restored"
    air = q.heat_detect.fault_state["air"][0]
    assert air[faults.F_N] == 6 and air[faults.F_SPIKES] == 0


def test_a_smooth_trend_that_steepens_is_not_a_spike_but_a_jump_is() -> None:
    """A noiseless warm-up whose slope steps from 0.03 to 0.16 °C a minute (a node coming into
    the sun, seen on the sim's truth as a false 'spike') is not a spike; a 5 °C jump is."""
    from gateway.detect import SENSOR_NOISE_C

    x = np.concatenate([30 + 0.03 * np.arange(120), 33.57 + 0.16 * np.arange(1, 30)])
    st = faults.new_fault_state()[0]
    f = faults.fault_flags(x, -40.0, 85.0, 30, 6.0, 0.05, st, SENSOR_NOISE_C["air"])
    assert not (f & faults.SPIKE).any()
    y = 30 + 0.03 * np.arange(120)
    y[100] += 5.0
    g = faults.fault_flags(y, -40.0, 85.0, 30, 6.0, 0.05, faults.new_fault_state()[0],
                           SENSOR_NOISE_C["air"])
    assert np.flatnonzero(g & faults.SPIKE).tolist() == [100]


def test_the_sun_reaching_a_shaded_spot_of_ground_is_not_a_surface_spike() -> None:
    """Seen on the sim's truth: a node's surface reading flat for hours (34.8 °C, ±0.03), then
    +1.1–1.3 °C a minute as the shadow leaves. The noise floor of the MLX90614 keeps that from
    being a 'spike'; a reading 10 °C off still is one."""
    from gateway.detect import SENSOR_NOISE_C

    rng = np.random.default_rng(6)
    flat = 34.8 + np.round(rng.normal(0, 0.02, 180), 2)
    sun = 34.8 + 1.2 * np.arange(1, 16)
    x = np.concatenate([flat, sun])
    f = faults.fault_flags(x, -40.0, 85.0, 30, 6.0, 0.05, faults.new_fault_state()[0],
                           SENSOR_NOISE_C["surface"])
    assert not (f & faults.SPIKE).any()
    without = faults.fault_flags(x, -40.0, 85.0, 30, 6.0, 0.05, faults.new_fault_state()[0])
    assert (without & faults.SPIKE).any()  # what the gateway raised before the floor
    y = flat.copy()
    y[120] = 44.8
    g = faults.fault_flags(y, -40.0, 85.0, 30, 6.0, 0.05, faults.new_fault_state()[0],
                           SENSOR_NOISE_C["surface"])
    assert np.flatnonzero(g & faults.SPIKE).tolist() == [120]


def test_a_node_back_from_an_hour_of_silence_is_not_a_spike(tmp_path: Path) -> None:
    """Seen on the sim's truth: a node dead for an hour came back 1.5 °C warmer and its first
    reading was called a spike (it stepped from the reading an hour old)."""
    p = Pipeline(config())
    t = T0
    rng = np.random.default_rng(8)
    faults_seen: list[list[str]] = []
    for _ in range(60):
        summary, _ = window(p, t, [(round(30.0 + rng.normal(0, 0.02), 2), 60.0, 50_000.0)] * 6,
                            tmp_path)
        faults_seen.append(summary["state"]["faults"])
        t += 60
    gone = t + 3600
    p.tick(gone)  # an hour without a word: the node is declared silent
    assert p.heat_detect.silent_prev[0]
    summary, events = window(p, gone, [(31.5, 60.0, 50_000.0)] * 6, tmp_path)
    assert summary["state"]["faults"] == [] and not [
        e for e in events if e["kind"] == "sensor_fault"]
    assert faults_seen == [[]] * 60


def test_a_gateway_back_from_an_outage_does_not_call_every_node_a_spike(tmp_path: Path) -> None:
    p = Pipeline(config())
    t = T0
    for _ in range(40):
        window(p, t, [(30.0 + 0.01 * (t - T0) / 60, 60.0, 50_000.0)] * 6, tmp_path)
        t += 60
    path = tmp_path / state.FILE
    state.save(path, state.snapshot(p))
    q = Pipeline(config())
    assert state.load_into(q, path) == "restored"
    back = t + 3 * 3600  # three hours off; the afternoon is 2 °C warmer
    q.resume(back)
    summary, _ = window(q, back, [(32.4, 60.0, 50_000.0)] * 6, tmp_path)
    assert "spike" not in summary["state"]["faults"]
