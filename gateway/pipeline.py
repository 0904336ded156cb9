"""The gateway's pure core: frames in, events and summaries out.

decode (gateway/decoders/advert.py) -> per-device ring buffers (numpy) -> kernels at window close
(gateway/detect.py) -> pending messages. No sockets, no clock: callers pass time in
(`tick(now)`), and `emit()` hands the pending messages to the outbox, which numbers them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from machimori.contract import mqtt as contract
from machimori.contract import pulse
from machimori.contract.bthome import SERVICE_UUID

from .anomaly_watch import SeriesAnomaly
from .config import Device, GatewayConfig, WatchSettings
from .decoders.advert import AdvertDecoder, Decoded
from .detect import HeatDetectors, MeterWatch, TagWatch, event
from .frames import Advert
from .kernels import sun
from .kernels.heat import LEVEL_BOUNDS, LUX_PER_WM2, LUX_SATURATED, wbgt_levels, wbgt_moe
from .outbox import Outbox
from .people import EXCLUDED, PeopleCounter, device_format
from .presence import Presence

log = logging.getLogger("machimori.gateway.pipeline")

# Heat channels kept per reading, in this order.
HEAT_CHANNELS = ("air_c", "humidity", "illuminance", "surface_c", "globe_c", "battery")
_AIR, _RH, _LUX, _SURF, _GLOBE, _BATT = range(len(HEAT_CHANNELS))
DEFAULT_WIND_MS = 1.0  # nodes have no anemometer; the MOE formula is insensitive to it (−0.06/m/s)
LEVEL_HYSTERESIS_C = 0.5
# Meter channels: cumulative pulses (pulse bridge) or Wh (Route-B), instantaneous W (Route-B).
_COUNT, _INSTANT_W = 0, 1
# Route-B's E0 moves in steps of 0.1 kWh (often): over a minute that reads 0 or 6 kW for a steady
# 300 W. Energy and mean power from E0 are only derived over spans at least this long.
ENERGY_MIN_SPAN_S = 1800.0


@dataclass(frozen=True)
class Pending:
    message: str  # "summary" | "event"
    kind: str
    body: dict[str, Any]  # payload without schema/id/gw/seq


class Ring:
    """Fixed-size ring of timestamped readings for a group of devices (one row per device)."""

    def __init__(self, n: int, channels: int, capacity: int):
        self.ts = np.full((n, capacity), np.nan)
        self.val = np.full((n, capacity, channels), np.nan)
        self.head = np.zeros(n, dtype=np.int64)
        self.capacity = capacity

    def push(self, row: int, ts: float, values: list[float]) -> None:
        h = self.head[row] % self.capacity
        self.ts[row, h] = ts
        self.val[row, h, :] = values
        self.head[row] += 1

    def window(self, row: int, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """Readings with start <= ts < end, oldest first."""
        ts = self.ts[row]
        mask = (ts >= start) & (ts < end)
        order = np.argsort(ts[mask], kind="stable")
        return ts[mask][order], self.val[row][mask][order]


def _stats(x: np.ndarray) -> dict[str, float] | None:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return None
    return {"mean": round(float(x.mean()), 3), "min": round(float(x.min()), 3),
            "max": round(float(x.max()), 3), "last": round(float(x[-1]), 3)}


def _place(d: Device) -> dict[str, Any] | None:
    if d.lat is None or d.lon is None:
        return None
    p: dict[str, Any] = {"lat": d.lat, "lon": d.lon}
    if d.name:
        p["name"] = d.name
    if d.height_m is not None:
        p["height_m"] = d.height_m
    return p


class Pipeline:
    def __init__(self, cfg: GatewayConfig, capacity: int = 1024,
                 watch: WatchSettings | None = None, people_secret: bytes | None = None):
        self.cfg = cfg
        self.interval = cfg.summary_interval_s
        self.watch = watch or cfg.watch
        self.counters: Counter[str] = Counter()
        self.timings: dict[str, float] = {"window_close_s": 0.0, "windows": 0}
        self.heat = [d for d in cfg.devices if d.kind == "heat"]
        self.tags = [d for d in cfg.devices if d.kind == "tag"]
        self.meters = [d for d in cfg.devices if d.kind == "meter"]
        self._heat_by_addr = {d.address: i for i, d in enumerate(self.heat)}
        self._known = frozenset(d.address for d in cfg.devices if d.kind == "known")
        self._tag_index = {d.id: i for i, d in enumerate(self.tags)}
        self._meter_index = {d.id: i for i, d in enumerate(self.meters)}
        self.decoder = AdvertDecoder(
            bindkeys={d.address: d.key for d in self.heat if d.key and d.address},
            tag_keys={d.id: d.key for d in self.tags if d.key})
        self.heat_ring = Ring(len(self.heat), len(HEAT_CHANNELS), capacity)
        self.tag_ring = Ring(len(self.tags), 2, capacity)  # rssi, battery
        self.meter_ring = Ring(len(self.meters), 2, capacity)
        self._levels = np.full(len(self.heat), -1, dtype=np.int64)
        self._tag_events_seen: dict[str, int] = {}
        self._meter_prev: dict[str, tuple[float, float]] = {}
        self._routeb: set[int] = set()  # meter rows read over Route-B (E0 steps, E7 power)
        self._window_start: float | None = None
        self.heat_detect = HeatDetectors(self.heat, self.watch)
        self.meter_watch = MeterWatch(self.meters, self.watch)
        self.tag_watch = TagWatch(self.tags, self.watch)
        w = self.watch
        self.people = PeopleCounter(people_secret, rssi_floor_dbm=w.people_rssi_floor_dbm,
                                    min_sightings=int(w.people_min_sightings),
                                    stationary_s=w.people_stationary_s)
        self.anomaly = SeriesAnomaly(self.watch.tz_offset_s, interval_s=cfg.summary_interval_s)
        self.presence = Presence()
        self.last_seen: dict[str, float] = {}
        self.pending: list[Pending] = []

    def all_counters(self) -> Counter[str]:
        """The pipeline's counters and the decoders' (rejections by format and reason)."""
        total = self.counters + self.decoder.counters
        if self.decoder.resolver.wide_hits:
            total["tag_wide_search_hits"] = self.decoder.resolver.wide_hits
        return total

    # ---- inputs
    def on_advert(self, adv: Advert) -> None:
        self.counters["adverts"] += 1
        enrolled = adv.address in self._heat_by_addr
        fmt = None if enrolled else device_format(adv)
        if enrolled or adv.address in self._known:
            self.people.exclude("enrolled", adv.address)  # our own nodes are not people
        elif fmt is None:
            self.people.seen(adv.address, adv.ts, adv.rssi)  # maybe a phone: screened later
        elif fmt != "tag":
            self.people.exclude("format", adv.address)  # sensors and beacons are not people
        if not enrolled and SERVICE_UUID in adv.service_data and not adv.manufacturer_data:
            # Someone else's BTHome device: not ours to decode (nor to keep state for).
            self.counters["unknown_device"] += 1
            return
        decoded = self.decoder.decode(adv)
        if fmt == "tag":  # a resident's tag (ours: enrolled) or someone else's (its format)
            own = any(d.kind == "tag" for d in decoded)
            self.people.exclude("enrolled" if own else "format", adv.address)
        for d in decoded:
            if d.kind == "bthome":
                self._on_bthome(d)
            elif d.kind == "tag":
                self._on_tag(d)
            else:
                self.counters[f"ignored_{d.kind}"] += 1

    def _on_bthome(self, d: Decoded) -> None:
        row = self._heat_by_addr.get(d.address)
        if row is None:
            self.counters["unknown_device"] += 1
            return
        r = d.reading
        temps = r.all("temperature")
        if not temps:
            self.counters["rejected_no_temperature"] += 1
            return
        vals = [np.nan] * len(HEAT_CHANNELS)
        vals[_AIR] = temps[0]
        if len(temps) > 1:
            vals[_SURF] = temps[1]
        if len(temps) > 2:
            vals[_GLOBE] = temps[2]
        for name, idx in (("humidity", _RH), ("illuminance", _LUX), ("battery", _BATT)):
            v = r.all(name)
            if v:
                vals[idx] = v[0]
        self.heat_ring.push(row, d.ts, vals)
        self.presence.seen(d.address, d.ts)
        self.last_seen[self.heat[row].id] = d.ts
        self.counters["readings"] += 1

    def _on_tag(self, d: Decoded) -> None:
        reading = d.reading
        row = self._tag_index[reading.tag]
        self.tag_ring.push(row, d.ts, [d.rssi, reading.battery])
        self.last_seen[reading.tag] = d.ts
        seen = self._tag_events_seen.get(reading.tag)
        # The event counter changes once per SOS/fall; repeated adverts carry the same value.
        if (reading.sos or reading.fall) and seen != reading.events:
            kind = "sos" if reading.sos else "fall"
            dev = self.tags[row]
            ev = event(kind, dev.id, d.ts, rssi=d.rssi, battery=reading.battery,
                       event_counter=reading.events)
            if dev.person:
                ev["data"]["person"] = dev.person
            self._add_event(ev)
        self._tag_events_seen[reading.tag] = reading.events

    def on_pulse_line(self, device_id: str, raw: bytes, ts: float) -> None:
        row = self._meter_index.get(device_id)
        if row is None:
            self.counters["unknown_device"] += 1
            return
        try:
            line = pulse.parse(raw)
        except pulse.PulseLineError:
            self.counters["rejected_pulse_line"] += 1
            return
        self.meter_ring.push(row, ts, [line.count, np.nan])
        self.last_seen[device_id] = ts
        self.counters["readings"] += 1

    def on_meter_reading(self, device_id: str, ts: float, power_w: float | None,
                         energy_kwh: float | None) -> None:
        """A Route-B reading: cumulative kWh (E0×E1×D3) and instantaneous W (E7)."""
        row = self._meter_index.get(device_id)
        if row is None:
            self.counters["unknown_device"] += 1
            return
        d = self.meters[row]
        self._routeb.add(row)
        count = np.nan if energy_kwh is None else energy_kwh * d.pulses_per_kwh
        self.meter_ring.push(row, ts, [count, np.nan if power_w is None else power_w])
        self.last_seen[device_id] = ts
        self.counters["readings"] += 1

    # ---- windows
    def tick(self, now: float) -> list[Pending]:
        """Close every window that ended at or before `now`; return everything pending."""
        start = self._window_start
        if start is None:
            start = self._window_start = (now // self.interval) * self.interval
        # Windows end on multiples of the interval (a flushed partial window is re-aligned).
        while (end := (start // self.interval + 1) * self.interval) <= now:
            self._close_window(start, end)
            start = end
        self._window_start = start
        out, self.pending = self.pending, []
        return out

    def flush(self, now: float) -> list[Pending]:
        """Close the current (partial) window too; used when stopping."""
        if self._window_start is not None and now > self._window_start:
            self._close_window(self._window_start, now)
            self._window_start = now
        out, self.pending = self.pending, []
        return out

    def resume(self, now: float) -> None:
        """Started again after a stop (or a kill) with restored state: the time the gateway
        was not listening is no evidence of anyone's absence. Windows restart at `now`, and
        the watches' "unheard since" clocks move on by the outage instead of counting it."""
        if self._window_start is None:
            return
        outage = now - max(self._window_start, max(self.last_seen.values(), default=0.0))
        if outage > self.interval:
            self.heat_detect.reanchor()  # a node's last reading before the outage is stale
            self.tag_watch.shift(outage)
            self.meter_watch.shift(outage)
            self.presence.shift(outage)
            self.counters["resumed_after_s"] = int(outage)
        self._window_start = (now // self.interval) * self.interval

    def clock_step(self, delta_s: float) -> None:
        """The wall clock jumped by delta_s while monotonic time did not (NTP after a boot
        without RTC): every remembered time moves with it and the open window is re-aligned,
        so the jump closes no windows and raises no absence."""
        for ring in (self.heat_ring, self.tag_ring, self.meter_ring):
            ring.ts += delta_s
        if self._window_start is not None:
            self._window_start = ((self._window_start + delta_s) // self.interval) * self.interval
        self.tag_watch.shift(delta_s)
        self.meter_watch.shift(delta_s)
        self.presence.shift(delta_s)
        self.people.shift(delta_s)
        self._meter_prev = {k: (t + delta_s, c) for k, (t, c) in self._meter_prev.items()}
        self.last_seen = {k: t + delta_s for k, t in self.last_seen.items()}
        self.decoder.resolver.shift_clock(delta_s)
        self.counters["clock_steps"] += 1

    def _close_window(self, start: float, end: float) -> None:
        t0 = time.perf_counter()
        self._close_heat(start, end)
        self._close_tags(start, end)
        self._close_meters(start, end)
        self._close_people(start, end)
        self.timings["window_close_s"] += time.perf_counter() - t0
        self.timings["windows"] += 1

    def _add_event(self, ev: dict[str, Any]) -> None:
        self.pending.append(Pending("event", ev["kind"], ev))
        self.counters[f"event_{ev['kind']}"] += 1

    def _close_heat(self, start: float, end: float) -> None:
        rows, windows = [], []
        for row in range(len(self.heat)):
            ts, v = self.heat_ring.window(row, start, end)
            if ts.size:
                rows.append(row)
                windows.append(v)
        unavailable = [i for i, d in enumerate(self.heat)
                       if d.address and self.presence.last_seen(d.address) is not None
                       and not self.presence.available(d.address, end)]
        for ev in self.heat_detect.silence(end, unavailable):
            self._add_event(ev)
        if not rows:
            return
        # One kernel call for all readings of all devices in this window.
        allv = np.concatenate(windows)
        sizes = [len(w) for w in windows]
        cosz = np.repeat(self._cos_zenith(rows, (start + end) / 2), sizes)
        sr_kw, missing, saturated = _radiation(allv[:, _LUX], cosz)
        wbgt_all = wbgt_moe(allv[:, _AIR].copy(), allv[:, _RH].copy(), sr_kw,
                            np.full(allv.shape[0], DEFAULT_WIND_MS))
        split = np.cumsum(sizes)[:-1]
        per_row = np.split(wbgt_all, split)
        known = np.array([np.isfinite(w).any() for w in per_row])
        means = np.array([np.nanmean(w) if k else np.nan for w, k in zip(per_row, known,
                                                                        strict=True)])
        prev = self._levels[rows]
        levels = wbgt_levels(means, LEVEL_BOUNDS, prev, LEVEL_HYSTERESIS_C)
        lux_mean = np.array([np.nanmean(w[:, _LUX]) if np.isfinite(w[:, _LUX]).any()
                             else np.nan for w in windows])
        why = _unknown_inputs(windows, np.split(missing, split), np.split(saturated, split))
        state, events = self.heat_detect.close(
            start, end, rows, [w[:, _AIR].copy() for w in windows],
            [w[:, _SURF].copy() for w in windows], lux_mean,
            {rows[k]: f for k, (f, _) in enumerate(why) if f})
        for k, row in enumerate(rows):
            v, w = windows[k], per_row[k]
            d = self.heat[row]
            values = {name: s for j, name in enumerate(HEAT_CHANNELS)
                      if (s := _stats(v[:, j])) is not None}
            if (ws := _stats(w)) is not None:
                values["wbgt_c"] = ws
            if why[k][1]:
                state[row]["saturated"] = why[k][1]
            body: dict[str, Any] = {"kind": "heat", "device": d.id, "start": start, "end": end,
                                    "n": len(v), "values": values,
                                    "wbgt_level": int(levels[k]) if known[k] else None,
                                    "state": state[row]}
            if (p := _place(d)) is not None:
                body["place"] = p
            self._score_anomaly(body, {"air_c": values.get("air_c"),
                                       "surface_c": values.get("surface_c")})
            self.pending.append(Pending("summary", "heat", body))
            if not known[k]:
                levels[k] = prev[k]  # unknown is not safer: the last known level stands
            elif prev[k] != levels[k]:
                self.pending.append(Pending("event", "wbgt_level", {
                    "kind": "wbgt_level", "device": d.id, "ts": end,
                    "priority": 2 if levels[k] >= 3 else 1,
                    "data": {"from": int(prev[k]), "to": int(levels[k]),
                             "wbgt_c": round(float(means[k]), 2)}}))
        self._levels[rows] = levels
        for ev in events:
            self._add_event(ev)

    def _cos_zenith(self, rows: list[int], t: float) -> np.ndarray:
        mid = np.array([t])
        return np.array([sun.cos_zenith(mid, d.lat if d.lat is not None else 35.0,
                                        d.lon if d.lon is not None else 135.0)[0]
                         for d in (self.heat[r] for r in rows)])

    def _close_tags(self, start: float, end: float) -> None:
        s_rows, s_ts = [], []
        for row, d in enumerate(self.tags):
            ts, v = self.tag_ring.window(row, start, end)
            if not ts.size:
                continue
            s_rows.append(np.full(ts.size, row))
            s_ts.append(ts)
            values = {n: s for j, n in enumerate(("rssi", "battery"))
                      if (s := _stats(v[:, j])) is not None}
            body: dict[str, Any] = {"kind": "presence", "device": d.id, "start": start,
                                    "end": end, "n": int(ts.size), "values": values}
            if (p := _place(d)) is not None:
                body["place"] = p
            self.pending.append(Pending("summary", "presence", body))
        if self.tags:
            rows = np.concatenate(s_rows) if s_rows else np.zeros(0, dtype=np.int64)
            ts = np.concatenate(s_ts) if s_ts else np.zeros(0)
            order = np.argsort(ts, kind="stable")
            for ev in self.tag_watch.close(end, rows[order], ts[order]):
                self._add_event(ev)

    def _close_meters(self, start: float, end: float) -> None:
        for row, d in enumerate(self.meters):
            ts, v = self.meter_ring.window(row, start, end)
            if not ts.size:
                continue
            ok = np.isfinite(v[:, _COUNT])
            inst = np.isfinite(v[:, _INSTANT_W])
            counts, cts = v[ok, _COUNT], ts[ok]
            values: dict[str, Any] = {}
            if counts.size:
                values["pulses"] = _stats(counts)
                watts = self._energy(row, d, cts, counts, values)
                if watts is not None and not inst.any():
                    for ev in self.meter_watch.close(row, end, watts):
                        self._add_event(ev)
            if inst.any():
                # The meter's own instantaneous power (E7): what the watch judges by.
                values["instant_power_w"] = _stats(v[inst, _INSTANT_W])
                for ev in self.meter_watch.close(row, end, v[inst, _INSTANT_W], ts[inst]):
                    self._add_event(ev)
            if not values:
                continue
            body: dict[str, Any] = {"kind": "meter", "device": d.id, "start": start, "end": end,
                                    "n": int(ts.size), "values": values}
            if (p := _place(d)) is not None:
                body["place"] = p
            self._score_anomaly(body, {"power_w": values.get("instant_power_w",
                                                             values.get("power_w"))},
                                household=d.household or d.id)
            self.pending.append(Pending("summary", "meter", body))

    def _energy(self, row: int, d: Device, cts: np.ndarray, counts: np.ndarray,
                values: dict[str, Any]) -> float | None:
        """Energy and mean power since the previous anchor reading (or this window's first):
        pulses are too coarse for per-line power at household loads, and Route-B's E0 steps
        only mean something over ENERGY_MIN_SPAN_S."""
        t_prev, c_prev = self._meter_prev.get(d.id, (float(cts[0]), float(counts[0])))
        min_span = ENERGY_MIN_SPAN_S if row in self._routeb else 0.0
        span = float(cts[-1] - t_prev)
        if counts[-1] < c_prev:  # the meter was replaced or its register wrapped: start again
            self._meter_prev[d.id] = (float(cts[-1]), float(counts[-1]))
            return None
        if span <= 0 or span < min_span:
            self._meter_prev.setdefault(d.id, (t_prev, c_prev))
            return None
        wh = float((counts[-1] - c_prev) / d.pulses_per_kwh * 1000.0)
        watts = wh * 3600.0 / span
        values["energy_wh"] = {k: round(wh, 3) for k in ("mean", "min", "max", "last")}
        values["power_w"] = {k: round(watts, 1) for k in ("mean", "min", "max", "last")}
        self._meter_prev[d.id] = (float(cts[-1]), float(counts[-1]))
        return watts

    def _score_anomaly(self, body: dict[str, Any], stats: dict[str, dict[str, float] | None],
                       **data: Any) -> None:
        """The general detector on each channel's window mean: score into the summary, an
        `anomaly` event when it alarms."""
        scores, alarms = self.anomaly.score(
            body["device"], body["end"], {ch: s["mean"] if s else None for ch, s in stats.items()},
            **data)
        if scores:
            body["anomaly"] = scores
        for a in alarms:
            self._add_event(event("anomaly", body["device"], body["end"], **a))

    def _close_people(self, start: float, end: float) -> None:
        values = self.people.close(end, self.watch.tz_offset_s)
        if values is None:
            return
        for why in EXCLUDED:
            self.counters[f"people_excluded_{why}"] += int(values[f"excluded_{why}"]["last"])
        if self.people.table_full:
            self.counters["people_table_full"] = self.people.table_full
        self.pending.append(Pending("summary", "people", {
            "kind": "people", "device": self.cfg.id, "start": start, "end": end,
            "n": int(values["unique_devices"]["last"]) or 1, "values": values}))


def _radiation(lux: np.ndarray, cosz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solar radiation (kW/m²) per reading for the WBGT estimate, never an underestimate:
    NaN where the lux reading is missing while the sun is up (no sun is *not* the safe
    guess), 0 at night whatever the sensor says, and at least clear-sky radiation where the
    light sensor is saturated. Also returns the missing and saturated masks."""
    up = cosz > 0.0
    missing = np.isnan(lux) & up
    saturated = lux >= LUX_SATURATED
    wm2 = np.where(saturated, np.maximum(lux / LUX_PER_WM2, sun.clear_sky_ghi(cosz)),
                   lux / LUX_PER_WM2)
    wm2 = np.where(up, wm2, 0.0)
    return wm2 / 1000.0, missing, saturated


def _unknown_inputs(windows: list[np.ndarray], missing: list[np.ndarray],
                    saturated: list[np.ndarray]) -> list[tuple[frozenset[str], list[str]]]:
    """Per device: the inputs whose absence left the WBGT unknown, and the saturated ones."""
    out = []
    for w, m, sat in zip(windows, missing, saturated, strict=True):
        faults = set()
        if not np.isfinite(w[:, _RH]).any():
            faults.add("humidity_missing")
        if m.all():
            faults.add("illuminance_missing")
        out.append((frozenset(faults), ["illuminance"] if sat.any() else []))
    return out


def emit(gw: str, pending: list[Pending], outbox: Outbox, now: float,
         counters: Counter[str] | None = None) -> list[int]:
    """Validate each pending message against the contract and append the valid ones."""
    makers = []
    epoch = outbox.epoch
    for p in pending:
        probe = contract.message_body(p.message, gw, epoch, 1, p.body)
        try:
            contract.validate(p.message, probe)
        except contract.ContractError as exc:
            # A bug on our side: count it and keep going rather than block the outbox.
            log.error("not sending invalid %s: %s", p.message, exc)
            if counters is not None:
                counters["invalid_outgoing"] += 1
            continue
        topic = (contract.summary_topic if p.message == "summary" else contract.event_topic)(
            gw, p.kind)

        def make(seq: int, p: Pending = p, topic: str = topic) -> tuple[str, bytes]:
            return topic, contract.encode(contract.message_body(p.message, gw, epoch, seq,
                                                                p.body))

        makers.append(make)
    return outbox.append_many(makers, now)
