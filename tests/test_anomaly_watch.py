"""The general detector in the live pipeline: heat nodes' air and surface temperature and
households' power get a score in their summaries and an `anomaly` event when it alarms; what it
learnt survives a restart."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gateway.anomaly_watch import SeriesAnomaly
from gateway.config import Device, GatewayConfig
from gateway.frames import Advert
from gateway.kernels import anomaly
from gateway.outbox import Outbox
from gateway.pipeline import Pipeline, emit
from machimori.contract import bthome
from machimori.contract import mqtt as contract

ADDR = "F0:00:00:00:00:01"
T0 = 1_785_715_200.0
STEP = 600.0  # ten-minute windows: the live probation (three days) is 432 of them, 576 are four days
SPIKE = 500  # the window where the surface sensor jumps


def config(tmp: Path) -> GatewayConfig:
    return GatewayConfig(
        id="gw-01", data_dir=tmp, summary_interval_s=STEP,
        devices=(Device(id="heat-001", kind="heat", address=ADDR, lat=36.1, lon=139.3),
                 Device(id="meter-001", kind="meter", household="hh-7")))


def day_curve(k: int, rng: np.random.Generator) -> tuple[float, float]:
    """Air and surface temperature over a day, with sensor noise."""
    phase = 2 * math.pi * (k * STEP) / 86400
    air = 28 + 4 * math.sin(phase) + rng.normal(0, 0.1)
    return air, air + 6 + 8 * max(0.0, math.sin(phase)) + rng.normal(0, 0.2)


def run_heat(p: Pipeline, windows: range, rng: np.random.Generator) -> list:
    out = p.tick(T0 + windows.start * STEP)  # the first window starts here
    for k in windows:
        air, surf = day_curve(k, rng)
        if k == SPIKE:
            surf += 25.0  # a surface reading far outside anything seen
        sd = bthome.encode_service_data(bthome.heat_node_objects(k & 0xFF, 90, air, 60.0,
                                                                 20000.0, surf))
        t = T0 + k * STEP
        p.on_advert(Advert(ADDR, t + 1, -60, {bthome.SERVICE_UUID: sd}))
        out += p.tick(t + STEP)
    return out


def test_heat_summaries_carry_scores_and_a_jump_raises_one_anomaly_event(tmp_path: Path) -> None:
    p = Pipeline(config(tmp_path))
    pending = run_heat(p, range(576), np.random.default_rng(3))
    heat = [m.body for m in pending if m.message == "summary" and m.kind == "heat"]
    assert len(heat) == 576
    assert all(set(b["anomaly"]) == {"air_c", "surface_c"} for b in heat)
    assert all(0.0 <= s <= 1.0 for b in heat for s in b["anomaly"].values())
    spike = heat[SPIKE]["anomaly"]["surface_c"]
    assert spike >= anomaly.DEFAULT_PARAMS[anomaly.P_ALARM]
    events = [m.body for m in pending if m.message == "event" and m.kind == "anomaly"]
    at_spike = [e for e in events if e["ts"] == T0 + (SPIKE + 1) * STEP]
    assert [(e["device"], e["priority"], e["data"]["channel"]) for e in at_spike] == [
        ("heat-001", 0, "surface_c")]
    assert at_spike[0]["data"]["score"] == spike
    # The ordinary daily cycle does not alarm once it has been seen (the first day is learning).
    assert [e for e in events if e["ts"] > T0 + 300 * STEP and e not in at_spike] == []
    # Every summary and event is valid against the contract: emit stores them all.
    outbox = Outbox(tmp_path / "outbox.sqlite")
    stored = emit("gw-01", pending, outbox, T0, p.counters)
    assert len(stored) == len(pending) and p.counters["invalid_outgoing"] == 0
    outbox.close()


def test_household_power_is_scored_and_a_surge_is_an_event(tmp_path: Path) -> None:
    p = Pipeline(config(tmp_path))
    rng = np.random.default_rng(4)
    pending = p.tick(T0)
    for k in range(600):
        hour = ((k * STEP + 9 * 3600) % 86400) / 3600
        w = 300 + (900 if 7 <= hour < 9 or 18 <= hour < 22 else 0) + rng.normal(0, 20)
        if k == 550:
            w = 9000.0  # far beyond this household's evenings
        t = T0 + k * STEP
        p.on_meter_reading("meter-001", t + 1, w, None)
        pending += p.tick(t + STEP)
    meter = [m.body for m in pending if m.message == "summary" and m.kind == "meter"]
    assert all("power_w" in b["anomaly"] for b in meter)
    events = [m.body for m in pending if m.message == "event" and m.kind == "anomaly"]
    surge = [e for e in events if e["ts"] == T0 + 551 * STEP]
    assert len(surge) == 1 and surge[0]["data"]["household"] == "hh-7"
    assert surge[0]["data"]["value"] == 9000.0


def test_a_window_without_the_channel_leaves_the_state_alone() -> None:
    det = SeriesAnomaly()
    scores, events = det.score("heat-001", T0, {"air_c": 30.0, "surface_c": None})
    assert set(scores) == {"air_c"} and events == []
    assert det.score("heat-001", T0 + 60, {"surface_c": float("nan")}) == ({}, [])
    assert sorted(det.states) == ["heat-001/air_c"]


def test_summary_schema_refuses_a_score_outside_0_1() -> None:
    body = {"schema": "machimori/summary/1", "id": "gw-01:1", "gw": "gw-01", "seq": 1,
            "kind": "heat", "device": "heat-001", "start": T0, "end": T0 + 60, "n": 1,
            "values": {}, "anomaly": {"air_c": 0.5}}
    contract.validate("summary", body)
    for bad in ({"air_c": 1.5}, {"air_c": -0.1}, {"Air": 0.1}, {"air_c": "high"}):
        with pytest.raises(contract.ContractError):
            contract.validate("summary", {**body, "anomaly": bad})


def test_learnt_series_survive_a_restart(tmp_path: Path) -> None:
    """Stopped after 400 windows and restarted from the saved file, the detector scores the
    rest exactly as one that never stopped; without the file it would learn afresh."""
    straight = Pipeline(config(tmp_path))
    rest = run_heat(straight, range(576), np.random.default_rng(3))
    want = [m.body["anomaly"] for m in rest if m.message == "summary"][400:]

    first = Pipeline(config(tmp_path))
    rng = np.random.default_rng(3)
    run_heat(first, range(400), rng)
    path = tmp_path / "anomaly_state.npz"
    first.anomaly.save(path)
    del first  # the process is gone; only the file remains

    second = Pipeline(config(tmp_path))
    assert second.anomaly.load(path) == 2
    got = [m.body["anomaly"] for m in run_heat(second, range(400, 576), rng)
           if m.message == "summary"]
    assert got == want

    fresh = Pipeline(config(tmp_path))
    relearnt = [m.body["anomaly"] for m in run_heat(fresh, range(400, 576),
                                                    np.random.default_rng(3))
                if m.message == "summary"]
    assert relearnt != want


def test_unreadable_or_foreign_state_is_not_restored(tmp_path: Path) -> None:
    det = SeriesAnomaly()
    det.score("heat-001", T0, {"air_c": 30.0})
    path = tmp_path / "a.npz"
    det.save(path)
    other = anomaly.DEFAULT_PARAMS.copy()
    other[anomaly.P_A_SLOW] *= 2
    assert SeriesAnomaly(params=other).load(path) == 0  # learnt under other parameters
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert SeriesAnomaly().load(tmp_path / "bad.npz") == 0
    assert SeriesAnomaly().load(tmp_path / "missing.npz") == 0
    assert SeriesAnomaly().load(path) == 1
    # the right parameters but arrays of another shape (another kernel's state): not restored
    with np.load(path) as z:
        saved = {k: z[k] for k in z.files}
    saved["tails_0"] = saved["tails_0"][:, :10]
    fresh = SeriesAnomaly()
    assert fresh.restore(saved) == 0 and fresh.states == {}


def test_the_live_probation_is_fixed_and_nothing_alarms_while_learning() -> None:
    """The live series learn for LIVE_PROBATION windows (three days of 10-minute windows) before
    they score, whatever the parameters passed; a jump during those days raises no event."""
    from gateway.anomaly_watch import LIVE_PROBATION

    det = SeriesAnomaly(params=anomaly.DEFAULT_PARAMS)
    assert det.params[anomaly.P_PROBATION] == LIVE_PROBATION == 432
    rng = np.random.default_rng(1)
    events = []
    for k in range(int(LIVE_PROBATION)):
        v = 25.0 + rng.normal(0, 0.2) + (30.0 if k == 300 else 0.0)
        scores, ev = det.score("heat-001", T0 + k * 600, {"air_c": v})
        assert scores["air_c"] == 0.0
        events += ev
    assert events == []
    _scores, ev = det.score("heat-001", T0 + LIVE_PROBATION * 600, {"air_c": 90.0})
    assert len(ev) == 1 and ev[0]["channel"] == "air_c" and ev[0]["score"] == 1.0


CHILD = """
import sys
from pathlib import Path
import numpy as np
from gateway.pipeline import Pipeline
from tests.test_anomaly_watch import config, run_heat
tmp = Path(sys.argv[1])
p = Pipeline(config(tmp))
rng = np.random.default_rng(3)
k = 0
while True:  # until SIGKILL: save every 50 windows, as the daemon does every status period
    run_heat(p, range(k, k + 50), rng)
    k += 50
    p.anomaly.save(tmp / "anomaly_state.npz")
    (tmp / "saved.tmp").write_text(str(k))
    (tmp / "saved.tmp").replace(tmp / "saved")
"""


def test_learnt_series_survive_sigkill(tmp_path: Path) -> None:
    """A process that learns and saves is killed with SIGKILL at an arbitrary moment; a new
    process restores the last save and scores on exactly as if nothing had happened."""
    import subprocess
    import sys

    from machimori.procs import wait_for

    root = Path(__file__).parents[1]
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], cwd=root)
    try:
        saved = tmp_path / "saved"
        wait_for(lambda: saved.exists() and int(saved.read_text()) >= 300, 120,
                 "the child to learn 300 windows")
    finally:
        child.kill()  # SIGKILL: no clean shutdown, no final save
        child.wait(timeout=30)
    again = Pipeline(config(tmp_path))
    assert again.anomaly.load(tmp_path / "anomaly_state.npz") == 2
    # windows learnt by the last save (the kill may fall between the save and "saved")
    k = int(again.anomaly.states["heat-001/air_c"][0][anomaly.S_N])
    assert k % 50 == 0 and k >= 300
    straight = Pipeline(config(tmp_path))
    rng = np.random.default_rng(3)
    run_heat(straight, range(k), rng)
    want = [m.body["anomaly"] for m in run_heat(straight, range(k, k + 100), rng)
            if m.message == "summary"]
    rng = np.random.default_rng(3)
    run_heat(Pipeline(config(tmp_path)), range(k), rng)  # the same noise draws, consumed
    got = [m.body["anomaly"] for m in run_heat(again, range(k, k + 100), rng)
           if m.message == "summary"]
    assert got == want


def test_the_live_probation_is_three_days_whatever_the_summary_interval(tmp_path: Path) -> None:
    from gateway.anomaly_watch import LIVE_PROBATION_S

    for interval, readings in ((600.0, 432), (60.0, 4320), (300.0, 864)):
        cfg = GatewayConfig(id="gw-01", data_dir=tmp_path, summary_interval_s=interval,
                            devices=config(tmp_path).devices)
        p = Pipeline(cfg)
        assert p.anomaly.params[anomaly.P_PROBATION] == readings
        assert readings * interval == LIVE_PROBATION_S


def test_the_state_file_is_written_only_when_something_was_learnt(tmp_path: Path) -> None:
    det = SeriesAnomaly()
    path = tmp_path / "anomaly_state.npz"
    assert det.save(path) is True  # no file yet: written (empty)
    assert det.save(path) is False  # nothing scored since: the SD card is left alone
    det.score("heat-001", T0, {"air_c": 30.0})
    assert det.save(path) is True and det.save(path) is False
    again = SeriesAnomaly()
    assert again.load(path) == 1
    assert all(np.array_equal(a, b) for a, b in
               zip(again.states["heat-001/air_c"], det.states["heat-001/air_c"], strict=True))
