"""Detectors run at each window's close: they turn kernel outputs into summary state and events.

Heat nodes: sun or shade, sensor faults, surface hot spots, radiation errors against shaded
neighbours, silence. Households: the meter watch. Tags: not seen for longer than their routine
allows at this hour, seen at night where they rarely are. Events are sent on
the change into a condition, not for every window it lasts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import Device, WatchSettings
from .kernels import faults, sun, watch
from .kernels.heat import LUX_PER_WM2

FAULT_NAMES = ((faults.OUT_OF_RANGE, "out_of_range"), (faults.STUCK, "stuck"),
               (faults.SPIKE, "spike"), (faults.DROPOUT, "dropout"))
SUN_NAMES = {sun.SUN: "sun", sun.SHADE: "shade", sun.UNKNOWN: "unknown"}
# Priorities on the wire (docs/protocol.md): 3 immediate, 2 urgent, 1 notice, 0 information.
PRIORITY = {"sos": 3, "fall": 3, "no_sign_of_life": 2, "continuous_use": 2,
            "night_wandering": 2, "tag_not_seen": 2, "morning_rise_missing": 1,
            "sensor_silent": 1, "sensor_fault": 0, "radiation_error": 0, "surface_hot_spot": 0,
            "anomaly": 0}
# A missing morning rise is judged once, when its hour closes; the other flags are conditions.
MORNING_ONCE = watch.MORNING_MISSING
METER_FLAGS = ((watch.NO_LIFE, "no_sign_of_life"), (watch.MORNING_MISSING, "morning_rise_missing"),
               (watch.CONTINUOUS, "continuous_use"))


def event(kind: str, device: str, ts: float, **data: Any) -> dict[str, Any]:
    return {"kind": kind, "device": device, "ts": ts, "priority": PRIORITY[kind], "data": data}


# The spike test's smallest deviation per channel, °C. Air: about the SHT4x's repeatability, so
# a spike is at least 6 × 0.05 = 0.3 °C off a noiseless trend. Surface: the MLX90614's ±0.5 °C
# accuracy, and a spot of ground that the sun reaches warms by more than a degree a minute after
# hours of near-flat readings — a real change, not a sensor fault; a surface spike must be at
# least 3 °C off the trend.
SENSOR_NOISE_C = {"air": 0.05, "surface": 0.5}


class HeatDetectors:
    def __init__(self, devices: list[Device], settings: WatchSettings):
        n = len(devices)
        self.devices = devices
        self.s = settings
        self.sun_state = np.full(n, sun.UNKNOWN, dtype=np.int64)
        self.fault_state = {ch: faults.new_fault_state(n) for ch in ("air", "surface")}
        self.fault_prev: list[frozenset[str]] = [frozenset()] * n
        self.hot_prev = np.zeros(n, dtype=bool)
        self.radiation_prev = np.zeros(n, dtype=bool)
        self.silent_prev = np.zeros(n, dtype=bool)

    def close(self, start: float, end: float, rows: list[int], air: list[np.ndarray],
              surface: list[np.ndarray], lux_mean: np.ndarray,
              input_faults: dict[int, frozenset[str]] | None = None
              ) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
        """Per reporting row its summary `state`; and the events this window raises.
        `input_faults`: per row, inputs the WBGT estimate needed and did not get."""
        events: list[dict[str, Any]] = []
        state: dict[int, dict[str, Any]] = {}
        mid = np.array([(start + end) / 2])
        cosz = np.array([sun.cos_zenith(mid, d.lat if d.lat is not None else 35.0,
                                        d.lon if d.lon is not None else 135.0)[0]
                         for d in (self.devices[r] for r in rows)])
        st = self.sun_state[rows]
        sun.sun_or_shade(lux_mean, cosz, LUX_PER_WM2, 0.6, 0.3, 0.1, st)
        self.sun_state[rows] = st
        air_mean = np.array([np.nanmean(a) if np.isfinite(a).any() else np.nan for a in air])
        surf_mean = np.array([np.nanmean(s) if np.isfinite(s).any() else np.nan for s in surface])
        hot = sun.surface_hot_spots(surf_mean, air_mean, self.s.hot_spot_excess_c,
                                    self.s.hot_spot_z)
        diff = faults.neighbour_disagreement(air_mean, st == sun.SHADE, 2)
        for k, row in enumerate(rows):
            d = self.devices[row]
            flags = 0
            if self.silent_prev[row]:  # back after silence: its last reading is hours old
                self.reanchor([row])
            for ch, x in (("air", air[k]), ("surface", surface[k])):
                if ch == "surface" and not np.isfinite(x).any():
                    continue  # no surface sensor fitted: nothing to judge
                st_ch = self.fault_state[ch][row]
                flags |= int(np.bitwise_or.reduce(faults.fault_flags(
                    x, -40.0, 85.0, 30, 6.0, 0.05, st_ch, SENSOR_NOISE_C[ch]), initial=0))
            names = frozenset(n for bit, n in FAULT_NAMES if flags & bit)
            if input_faults and row in input_faults:
                names |= input_faults[row]
            if names - self.fault_prev[row]:
                events.append(event("sensor_fault", d.id, end, faults=sorted(names)))
            self.fault_prev[row] = names
            if hot[k] and not self.hot_prev[row]:
                events.append(event("surface_hot_spot", d.id, end,
                                    surface_c=round(float(surf_mean[k]), 2),
                                    air_c=round(float(air_mean[k]), 2)))
            self.hot_prev[row] = hot[k]
            rad = bool(st[k] == sun.SUN and np.isfinite(diff[k])
                       and diff[k] > self.s.radiation_excess_c)
            if rad and not self.radiation_prev[row]:
                events.append(event("radiation_error", d.id, end,
                                    above_shaded_c=round(float(diff[k]), 2)))
            self.radiation_prev[row] = rad
            self.silent_prev[row] = False
            state[row] = {"sun": SUN_NAMES[int(st[k])], "faults": sorted(names),
                          "hot_spot": bool(hot[k])}
        return state, events

    def reanchor(self, rows: list[int] | None = None) -> None:
        """The spike test steps from each node's last good reading; after a gap that reading is
        too old (a sensor back from the dead, a gateway back from an outage)."""
        for st in self.fault_state.values():
            faults.reanchor(st, rows)

    def silence(self, now: float, unavailable: list[int]) -> list[dict[str, Any]]:
        """Events for heat nodes that just became unavailable (interval learnt per device)."""
        out = []
        for row in unavailable:
            if not self.silent_prev[row]:
                out.append(event("sensor_silent", self.devices[row].id, now))
                self.silent_prev[row] = True
        return out


class MeterWatch:
    def __init__(self, devices: list[Device], settings: WatchSettings):
        self.devices = devices
        self.s = settings
        self.state: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.prev = np.zeros(len(devices), dtype=np.int64)

    def close(self, row: int, end: float, power_w: float | np.ndarray,
              ts: np.ndarray | None = None) -> list[dict[str, Any]]:
        """One power value at `end` (the mean since the previous one, from the meter's energy
        register: its resolution is one pulse, 1000 / pulses_per_kwh Wh), or instantaneous
        readings `power_w` at times `ts` (Route-B E7, 1 W resolution)."""
        t = np.array([end]) if ts is None else ts
        p = np.array([power_w]) if ts is None else np.asarray(power_w, dtype=np.float64)
        local = t + self.s.tz_offset_s
        if row not in self.state:
            self.state[row] = watch.new_meter_state(float(local[0]), self.s.learn_days)
        st, profile = self.state[row]
        d = self.devices[row]
        quantum_wh = 1000.0 / d.pulses_per_kwh if ts is None else 0.0
        got = watch.meter_watch(local, p, self.s.activity_w, self.s.high_w, self.s.margin,
                                self.s.flat_floor_s, self.s.rise_min_wh, self.s.rise_frac, st,
                                profile, self.s.high_floor_s, watch.ACTIVITY_SPAN_S, quantum_wh)
        flags = int(got[-1]) | int(np.bitwise_or.reduce(got) & MORNING_ONCE)
        new = flags & ~self.prev[row]
        self.prev[row] = flags & ~MORNING_ONCE
        return [event(name, d.id, end, household=d.household or d.id,
                      power_w=round(float(p[-1]), 1))
                for bit, name in METER_FLAGS if new & bit]

    def shift(self, delta_s: float) -> None:
        """The wall clock was stepped: runs and learning deadlines move with it."""
        for st, _ in self.state.values():
            for i in (watch.M_ACTIVE_AT, watch.M_HIGH_SINCE, watch.M_LEARN_UNTIL, watch.M_T):
                st[i] += delta_s
            # The open span keeps its energy: after an outage the next reading continues it or
            # closes it (judged if at least half covered); dropping it at every restart would
            # leave a gateway that restarts often with no span ever judged.


class TagWatch:
    def __init__(self, devices: list[Device], settings: WatchSettings):
        n = len(devices)
        self.devices = devices
        self.s = settings
        self.last_seen = np.full(n, np.nan)
        self.max_gap = np.zeros(n)
        self.routine, self.routine_day = watch.new_tag_routine(n)
        self.counts = np.zeros((n, 1))
        self.missing_prev = np.zeros(n, dtype=bool)
        self.started: float | None = None

    def _night(self, t: np.ndarray) -> np.ndarray:
        h = ((t + self.s.tz_offset_s) % 86400) / 3600
        return (h >= self.s.night_from_h) | (h < self.s.night_to_h)

    def close(self, end: float, rows: np.ndarray, ts: np.ndarray) -> list[dict[str, Any]]:
        """rows/ts: this window's sightings (tag row, time), oldest first."""
        if self.started is None:
            self.started = end
        learn_until = self.started + self.s.learn_days * 86400
        learning = end < learn_until
        events = []
        if ts.size:
            flagged = watch.tag_sightings(ts, rows.astype(np.int64), np.zeros(ts.size, np.int64),
                                          self._night(ts), self.last_seen, self.max_gap,
                                          self.counts, self.routine, self.routine_day,
                                          self.s.wander_min_count, self.s.margin,
                                          self.s.tag_floor_s, learn_until, self.s.tz_offset_s)
            if not learning:
                for k in np.unique(rows[flagged]):
                    d = self.devices[int(k)]
                    events.append(event("night_wandering", d.id, end, person=d.person or ""))
        missing = watch.tags_not_seen(end, self.last_seen, self.max_gap, self.routine,
                                      self.routine_day, self.s.margin, self.s.tag_floor_s,
                                      self.s.tz_offset_s)
        for k in np.flatnonzero(missing & ~self.missing_prev):
            d = self.devices[int(k)]
            events.append(event("tag_not_seen", d.id, end, person=d.person or "",
                                last_seen=float(self.last_seen[k])))
        self.missing_prev = missing
        return events

    def shift(self, delta_s: float) -> None:
        self.last_seen += delta_s
        if self.started is not None:
            self.started += delta_s
