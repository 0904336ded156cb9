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
from .config import Device, GatewayConfig
from .decoders.advert import AdvertDecoder, Decoded
from .detect import HeatDetectors, MeterWatch, PeopleCounter, TagWatch, WatchSettings, event
from .frames import Advert
from .kernels.heat import LEVEL_BOUNDS, LUX_PER_WM2, wbgt_levels, wbgt_moe
from .outbox import Outbox
from .presence import Presence

log = logging.getLogger("machimori.gateway.pipeline")

# Heat channels kept per reading, in this order.
HEAT_CHANNELS = ("air_c", "humidity", "illuminance", "surface_c", "globe_c", "battery")
_AIR, _RH, _LUX, _SURF, _GLOBE, _BATT = range(len(HEAT_CHANNELS))
DEFAULT_WIND_MS = 1.0  # nodes have no anemometer; the MOE formula is insensitive to it (−0.06/m/s)
LEVEL_HYSTERESIS_C = 0.5
# Meter channels: cumulative pulses (pulse bridge) or Wh (Route-B), instantaneous W (Route-B).
_COUNT, _INSTANT_W = 0, 1


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
        self.watch = watch or WatchSettings()
        self.counters: Counter[str] = Counter()
        self.timings: dict[str, float] = {"window_close_s": 0.0, "windows": 0}
        self.heat = [d for d in cfg.devices if d.kind == "heat"]
        self.tags = [d for d in cfg.devices if d.kind == "tag"]
        self.meters = [d for d in cfg.devices if d.kind == "meter"]
        self._heat_by_addr = {d.address: i for i, d in enumerate(self.heat)}
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
        self._window_start: float | None = None
        self.heat_detect = HeatDetectors(self.heat, self.watch)
        self.meter_watch = MeterWatch(self.meters, self.watch)
        self.tag_watch = TagWatch(self.tags, self.watch)
        self.people = PeopleCounter(people_secret)
        self.anomaly = SeriesAnomaly(self.watch.tz_offset_s)
        self.presence = Presence()
        self.last_seen: dict[str, float] = {}
        self.pending: list[Pending] = []

    def all_counters(self) -> Counter[str]:
        """The pipeline's counters and the decoders' (rejections by format and reason)."""
        return self.counters + self.decoder.counters

    # ---- inputs
    def on_advert(self, adv: Advert) -> None:
        self.counters["adverts"] += 1
        enrolled = adv.address in self._heat_by_addr
        if not enrolled:
            self.people.seen(adv.address, adv.ts)  # fixed sensors are not people
            if SERVICE_UUID in adv.service_data and not adv.manufacturer_data:
                # Someone else's BTHome device: not ours to decode (nor to keep state for).
                self.counters["unknown_device"] += 1
                return
        for d in self.decoder.decode(adv):
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
        while start + self.interval <= now:
            self._close_window(start, start + self.interval)
            start += self.interval
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
        sr_kw = np.nan_to_num(allv[:, _LUX]) / LUX_PER_WM2 / 1000.0
        wbgt_all = wbgt_moe(allv[:, _AIR].copy(), allv[:, _RH].copy(), sr_kw,
                            np.full(allv.shape[0], DEFAULT_WIND_MS))
        per_row = np.split(wbgt_all, np.cumsum([len(w) for w in windows])[:-1])
        means = np.array([np.nanmean(w) for w in per_row])
        prev = self._levels[rows]
        levels = wbgt_levels(means, LEVEL_BOUNDS, prev, LEVEL_HYSTERESIS_C)
        lux_mean = np.array([np.nanmean(w[:, _LUX]) if np.isfinite(w[:, _LUX]).any()
                             else np.nan for w in windows])
        state, events = self.heat_detect.close(
            start, end, rows, [w[:, _AIR].copy() for w in windows],
            [w[:, _SURF].copy() for w in windows], lux_mean)
        for k, row in enumerate(rows):
            v, w = windows[k], per_row[k]
            d = self.heat[row]
            values = {name: s for j, name in enumerate(HEAT_CHANNELS)
                      if (s := _stats(v[:, j])) is not None}
            if (ws := _stats(w)) is not None:
                values["wbgt_c"] = ws
            body: dict[str, Any] = {"kind": "heat", "device": d.id, "start": start, "end": end,
                                    "n": len(v), "values": values,
                                    "wbgt_level": int(levels[k]), "state": state[row]}
            if (p := _place(d)) is not None:
                body["place"] = p
            self._score_anomaly(body, {"air_c": values.get("air_c"),
                                       "surface_c": values.get("surface_c")})
            self.pending.append(Pending("summary", "heat", body))
            if prev[k] != levels[k]:
                self.pending.append(Pending("event", "wbgt_level", {
                    "kind": "wbgt_level", "device": d.id, "ts": end,
                    "priority": 2 if levels[k] >= 3 else 1,
                    "data": {"from": int(prev[k]), "to": int(levels[k]),
                             "wbgt_c": round(float(means[k]), 2)}}))
        self._levels[rows] = levels
        for ev in events:
            self._add_event(ev)

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
            ok = np.isfinite(v[:, _COUNT])
            if not ts.size:
                continue
            counts, cts = v[ok, _COUNT], ts[ok]
            values: dict[str, Any] = {}
            if counts.size:
                values["pulses"] = _stats(counts)
                # Energy since the previous window's last reading (or this window's first):
                # pulses are too coarse for per-line power at household loads.
                t_prev, c_prev = self._meter_prev.get(d.id, (cts[0], counts[0]))
                if cts[-1] > t_prev and counts[-1] >= c_prev:
                    wh = float((counts[-1] - c_prev) / d.pulses_per_kwh * 1000.0)
                    watts = wh * 3600.0 / float(cts[-1] - t_prev)
                    values["energy_wh"] = {k: round(wh, 3) for k in ("mean", "min", "max",
                                                                    "last")}
                    values["power_w"] = {k: round(watts, 1) for k in ("mean", "min", "max",
                                                                      "last")}
                    for ev in self.meter_watch.close(row, end, watts):
                        self._add_event(ev)
                self._meter_prev[d.id] = (float(cts[-1]), float(counts[-1]))
            if (inst := _stats(v[:, _INSTANT_W])) is not None:
                values["instant_power_w"] = inst
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
        self.pending.append(Pending("summary", "people", {
            "kind": "people", "device": self.cfg.id, "start": start, "end": end,
            "n": int(values["unique_devices"]["last"]) or 1, "values": values}))


def emit(gw: str, pending: list[Pending], outbox: Outbox, now: float,
         counters: Counter[str] | None = None) -> list[int]:
    """Validate each pending message against the contract and append the valid ones."""
    makers = []
    for p in pending:
        schema = contract.SCHEMA_IDS[p.message]
        probe = {"schema": schema, "id": f"{gw}:1", "gw": gw, "seq": 1, **p.body}
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

        def make(seq: int, p: Pending = p, topic: str = topic, schema: str = schema
                 ) -> tuple[str, bytes]:
            body = {"schema": schema, "id": contract.event_id(gw, seq), "gw": gw, "seq": seq,
                    **p.body}
            return topic, contract.encode(body)

        makers.append(make)
    return outbox.append_many(makers, now)
