"""The demo's gateways start with two weeks of household watch already learnt.

The household watch learns for `learn_days` (14) before it judges anything, so a fresh demo would
never show a household alert. Before the gateways start, the demo replays the simulated town's
last two weeks (each household's power, each tag's sightings at its gateway, from sim/life.py)
through the gateway's own detectors (gateway/detect.py) and saves the result as the gateway's
`state.json` with gateway/state.py — exactly what a gateway that had run for two weeks would
have on disk. An existing state.json is kept (a restarted demo goes on from what it learnt).

The town's household with no sign of life (sim/life.py) has been silent since the previous
day's breakfast: its meter learning ends there, the rest of the replay is judged, and the
gateway raises `no_sign_of_life` for it in its first window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

METER_STEP_S = 60.0  # one power value a minute, like a summary window
TAG_STEP_S = 300.0  # one sighting every five minutes while the tag is in the area


def learnt_state(cfg: Any, town: Any, start: float) -> dict[str, Any]:
    """The gateway state after `learn_days` of the town's life before `start` (unix time)."""
    from gateway import state
    from gateway.kernels import watch
    from gateway.pipeline import Pipeline
    from sim.life import household_energy_kwh, resident_place

    p = Pipeline(cfg, people_secret=b"\0" * 32)
    learn_s = p.watch.learn_days * 86400.0
    t0 = start - learn_s
    # A household incident already under way at the start (no sign of life since the previous
    # day) must not be learnt as a habit: the meters' learning ends where it began, and the
    # watch judges from there on, as a gateway that had run all along would have.
    learn_end = min([start] + [start + a.at for a in town.anomalies if a.kind == "no_life"])
    m0 = learn_end - learn_s
    homes = {h.id: h for h in town.households}
    ts = np.arange(m0 + METER_STEP_S, start + 0.5, METER_STEP_S)
    for row, d in enumerate(p.meters):
        hh = homes[d.household or d.id]
        # What the gateway computes from the meter's pulse counter: whole pulses per window.
        kwh = np.array([household_energy_kwh(hh, t, town, start)
                        for t in np.concatenate(([m0], ts))])
        pulses = np.floor(kwh * d.pulses_per_kwh)
        watts = np.diff(pulses) / d.pulses_per_kwh * 1000.0 * 3600.0 / METER_STEP_S
        p.meter_watch.state[row] = watch.new_meter_state(m0 + p.watch.tz_offset_s,
                                                         p.watch.learn_days)
        p.meter_watch.close(row, start, watts, ts)
    # Nothing has been told yet: a condition already on (that household's) is reported by the
    # running gateway at its first window.
    p.meter_watch.prev[:] = 0
    residents = {r.id: r for r in town.residents}
    tw = p.tag_watch
    tw.started = t0
    sight_t = np.arange(t0 + TAG_STEP_S, start + 0.5, TAG_STEP_S)
    rows, times = [], []
    for k, d in enumerate(p.tags):
        r = residents.get(d.id)
        if r is None:
            continue
        # Negative times relative to `start`: no injected anomaly applies before the demo.
        seen = [t for t in sight_t if resident_place(town, r, t, start) == cfg.id]
        rows += [k] * len(seen)
        times += seen
    order = np.argsort(times, kind="stable")
    tw.close(start, np.array(rows, dtype=np.int64)[order], np.array(times)[order])
    tw.missing_prev[:] = False
    doc = state.snapshot(p)
    doc["people"] = {}  # no passers-by were counted: the gateway's own secret keys them
    return doc


def write_learnt(configs: list[Path], town: Any, start: float) -> list[Path]:
    """Write `<data_dir>/state.json` for every gateway configuration that has none yet."""
    from gateway import config, state

    written = []
    for path in configs:
        cfg = config.load(path)
        out = cfg.data_dir / state.FILE
        if out.exists():
            continue
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        state.save(out, learnt_state(cfg, town, start))
        written.append(out)
    return written
