"""The gateway's pure core: frames in, events and summaries out.

decode -> per-device ring buffers (numpy) -> kernels at window close -> pending messages.
No sockets, no clock: callers pass time in (`tick(now)`), and `emit()` hands the pending
messages to the outbox, which assigns their sequence numbers.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from machimori.contract import mqtt as contract
from machimori.contract import pulse, tag
from machimori.contract.bthome import SERVICE_UUID

from .config import Device, GatewayConfig
from .decoders.bthome import DecodeError, decode
from .frames import Advert
from .kernels.heat import LEVEL_BOUNDS, LUX_PER_WM2, wbgt_levels, wbgt_moe
from .outbox import Outbox

log = logging.getLogger("machimori.gateway.pipeline")

# Heat channels kept per reading, in this order.
HEAT_CHANNELS = ("air_c", "humidity", "illuminance", "surface_c", "globe_c", "battery")
_AIR, _RH, _LUX, _SURF, _GLOBE, _BATT = range(len(HEAT_CHANNELS))
DEFAULT_WIND_MS = 1.0  # nodes have no anemometer; the MOE formula is insensitive to it (−0.06/m/s)
LEVEL_HYSTERESIS_C = 0.5
PRIORITY = {"sos": 3, "fall": 3, "wbgt_level": 1}


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
    def __init__(self, cfg: GatewayConfig, capacity: int = 1024):
        self.cfg = cfg
        self.interval = cfg.summary_interval_s
        self.counters: Counter[str] = Counter()
        self.heat = [d for d in cfg.devices if d.kind == "heat"]
        self.tags = [d for d in cfg.devices if d.kind == "tag"]
        self.meters = [d for d in cfg.devices if d.kind == "meter"]
        self._heat_by_addr = {d.address: i for i, d in enumerate(self.heat)}
        self._tag_index = {d.id: i for i, d in enumerate(self.tags)}
        self._meter_index = {d.id: i for i, d in enumerate(self.meters)}
        self._resolver = tag.TagResolver({d.id: d.key for d in self.tags if d.key})
        self.heat_ring = Ring(len(self.heat), len(HEAT_CHANNELS), capacity)
        self.tag_ring = Ring(len(self.tags), 2, capacity)  # rssi, battery
        self.meter_ring = Ring(len(self.meters), 1, capacity)  # cumulative pulse count
        self._last_packet = np.full(len(self.heat), -1, dtype=np.int64)
        self._levels = np.full(len(self.heat), -1, dtype=np.int64)
        self._tag_events_seen: dict[str, int] = {}
        self._meter_prev: dict[str, tuple[float, float]] = {}
        self._window_start: float | None = None
        self.last_seen: dict[str, float] = {}
        self.pending: list[Pending] = []

    # ---- inputs
    def on_advert(self, adv: Advert) -> None:
        self.counters["adverts"] += 1
        sd = adv.service_data.get(SERVICE_UUID)
        if sd is not None:
            self._on_bthome(adv, sd)
            return
        md = adv.manufacturer_data.get(tag.COMPANY_ID)
        if md is not None:
            self._on_tag(adv, md)
            return
        self.counters["ignored_format"] += 1

    def _on_bthome(self, adv: Advert, data: bytes) -> None:
        row = self._heat_by_addr.get(adv.address)
        if row is None:
            self.counters["unknown_device"] += 1
            return
        try:
            r = decode(data)
        except DecodeError as exc:
            self.counters[f"rejected_{exc.reason}"] += 1
            return
        if r.packet_id is not None:
            if r.packet_id == self._last_packet[row]:
                self.counters["duplicate_packet"] += 1
                return
            self._last_packet[row] = r.packet_id
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
        self.heat_ring.push(row, adv.ts, vals)
        self.last_seen[self.heat[row].id] = adv.ts
        self.counters["readings"] += 1

    def _on_tag(self, adv: Advert, data: bytes) -> None:
        try:
            reading = self._resolver.resolve(data, adv.ts)
        except tag.TagFormatError:
            self.counters["rejected_tag_format"] += 1
            return
        if reading is None:
            self.counters["unknown_tag"] += 1
            return
        row = self._tag_index[reading.tag]
        self.tag_ring.push(row, adv.ts, [adv.rssi, reading.battery])
        self.last_seen[reading.tag] = adv.ts
        seen = self._tag_events_seen.get(reading.tag)
        # The event counter changes once per SOS/fall; repeated adverts carry the same value.
        if (reading.sos or reading.fall) and seen != reading.events:
            kind = "sos" if reading.sos else "fall"
            d = self.tags[row]
            data_: dict[str, Any] = {"rssi": adv.rssi, "battery": reading.battery,
                                     "event_counter": reading.events}
            if d.person:
                data_["person"] = d.person
            self.pending.append(Pending("event", kind, {
                "kind": kind, "device": d.id, "ts": adv.ts, "priority": PRIORITY[kind],
                "data": data_}))
            self.counters[f"event_{kind}"] += 1
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
        self.meter_ring.push(row, ts, [line.count])
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
        self._close_heat(start, end)
        self._close_simple(self.tags, self.tag_ring, "presence", ("rssi", "battery"), start, end)
        self._close_meters(start, end)

    def _close_heat(self, start: float, end: float) -> None:
        rows, windows = [], []
        for row in range(len(self.heat)):
            ts, v = self.heat_ring.window(row, start, end)
            if ts.size:
                rows.append(row)
                windows.append(v)
        if not rows:
            return
        # One kernel call for all readings of all devices in this window.
        allv = np.concatenate(windows)
        sr_kw = np.nan_to_num(allv[:, _LUX]) / LUX_PER_WM2 / 1000.0
        wbgt_all = wbgt_moe(allv[:, _AIR].copy(), allv[:, _RH].copy(), sr_kw,
                            np.full(allv.shape[0], DEFAULT_WIND_MS))
        means = np.array([np.nanmean(w) for w in np.split(wbgt_all, np.cumsum(
            [len(w) for w in windows])[:-1])])
        prev = self._levels[rows]
        levels = wbgt_levels(means, LEVEL_BOUNDS, prev, LEVEL_HYSTERESIS_C)
        offset = 0
        for k, row in enumerate(rows):
            v = windows[k]
            w = wbgt_all[offset:offset + len(v)]
            offset += len(v)
            d = self.heat[row]
            values = {name: s for j, name in enumerate(HEAT_CHANNELS)
                      if (s := _stats(v[:, j])) is not None}
            ws = _stats(w)
            if ws is not None:
                values["wbgt_c"] = ws
            body: dict[str, Any] = {"kind": "heat", "device": d.id, "start": start, "end": end,
                                    "n": len(v), "values": values,
                                    "wbgt_level": int(levels[k])}
            if (p := _place(d)) is not None:
                body["place"] = p
            self.pending.append(Pending("summary", "heat", body))
            if prev[k] != levels[k]:
                self.pending.append(Pending("event", "wbgt_level", {
                    "kind": "wbgt_level", "device": d.id, "ts": end,
                    "priority": 2 if levels[k] >= 3 else PRIORITY["wbgt_level"],
                    "data": {"from": int(prev[k]), "to": int(levels[k]),
                             "wbgt_c": round(float(means[k]), 2)}}))
        self._levels[rows] = levels

    def _close_simple(self, devices: list[Device], ring: Ring, kind: str,
                      names: tuple[str, ...], start: float, end: float) -> None:
        for row, d in enumerate(devices):
            ts, v = ring.window(row, start, end)
            if not ts.size:
                continue
            values = {n: s for j, n in enumerate(names) if (s := _stats(v[:, j])) is not None}
            body: dict[str, Any] = {"kind": kind, "device": d.id, "start": start, "end": end,
                                    "n": int(ts.size), "values": values}
            if (p := _place(d)) is not None:
                body["place"] = p
            self.pending.append(Pending("summary", kind, body))

    def _close_meters(self, start: float, end: float) -> None:
        for row, d in enumerate(self.meters):
            ts, v = self.meter_ring.window(row, start, end)
            if not ts.size:
                continue
            counts = v[:, 0]
            values: dict[str, Any] = {"pulses": _stats(counts)}
            # Energy since the previous window's last line (or this window's first line):
            # pulses are too coarse for per-line power at household loads.
            t_prev, c_prev = self._meter_prev.get(d.id, (ts[0], counts[0]))
            if ts[-1] > t_prev and counts[-1] >= c_prev:
                wh = (counts[-1] - c_prev) / d.pulses_per_kwh * 1000.0
                watts = wh * 3600.0 / (ts[-1] - t_prev)
                values["energy_wh"] = {"mean": wh, "min": wh, "max": wh, "last": wh}
                values["power_w"] = {k: round(watts, 1) for k in ("mean", "min", "max", "last")}
            self._meter_prev[d.id] = (float(ts[-1]), float(counts[-1]))
            body: dict[str, Any] = {"kind": "meter", "device": d.id, "start": start, "end": end,
                                    "n": int(ts.size), "values": values}
            if (p := _place(d)) is not None:
                body["place"] = p
            self.pending.append(Pending("summary", "meter", body))

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
