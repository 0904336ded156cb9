"""The sim as a gateway source: the bytes real devices would send, through the real boundaries.

Heat nodes and tags become `Advert`s (what the bleak adapter produces); meter bridges become
pulse-bridge lines (what the serial adapter reads). Each device reports every `step_s` simulated
seconds at its own phase; a heat node repeats each advert, as real BLE nodes do.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gateway.frames import Advert
from machimori.contract import bthome

from .firmware import firmware
from .hardware import (
    TagWake,
    Wiring,
    ad_structures,
    fall_motion,
    stumble_motion,
    tag_config,
    tag_wake,
)
from .life import (
    SOS_HOLD_S,
    area_wbgt,
    dwell_mean_s,
    household_energy_kwh,
    pedestrian_rate,
    resident_place,
    wander_gw,
)
from .places import node_reading, place_state
from .town import Anomaly, HeatNode, Resident, Town

TAG_K = 10  # tag ids rotate every 2**10 s ≈ 17 min
PHONE_MAX_STAY_S = 1800.0  # pedestrians linger near a gateway at most half an hour
BOOT_AT = 1_767_193_200.0  # 2026-01-01 JST: when the meter bridges were (last) powered on


@dataclass(frozen=True)
class SimClock:
    sim_start: float
    wall_anchor: float
    speed: float

    def now(self, wall: float) -> float:
        return self.sim_start + (wall - self.wall_anchor) * self.speed


def _rssi(a: tuple[float, float], b: tuple[float, float], jitter: float) -> int:
    d = max(1.0, math.dist(a, b) * 111_000)
    return int(max(-100, min(-30, -40 - 14 * math.log10(d) + jitter)))


class SimSource:
    """Everything one gateway hears from the town. `sim_start` is when the anomalies' clock
    starts (the configured simulation start); without it, the first poll."""

    def __init__(self, town: Town, gw_id: str, step_s: float = 10.0, repeats: int = 2,
                 sim_start: float | None = None):
        if gw_id not in town.by_gateway:
            raise ValueError(f"the town has no gateway {gw_id!r}")
        self.town = town
        self.gw = next(g for g in town.gateways if g.id == gw_id)
        mine = town.by_gateway[gw_id]
        self.nodes = [(town.nodes.index(n), n) for n in mine["nodes"]]
        self.households = mine["households"]
        # Tags this gateway may hear: its residents, and visitors from other areas.
        self.residents = [r for r in town.residents if r.gw == gw_id or r.visit_gw == gw_id
                          or wander_gw(town, r) == gw_id and any(
                              a.kind == "wandering" and a.device == r.id for a in town.anomalies)]
        self.step = step_s
        self.repeats = repeats
        self._t: float | None = None
        homes = {h.id: (h.lat, h.lon) for h in town.households}
        self._home = {r.id: homes[r.household] for r in town.residents}
        self._incidents: dict[str, list[Anomaly]] = {}
        self._faults: dict[str, list[Anomaly]] = {}
        for a in town.anomalies:
            if a.kind in ("sos", "fall", "stumble"):
                self._incidents.setdefault(a.device, []).append(a)
            elif a.kind in ("bus_noise", "light_missing", "sensor_stuck", "sensor_dead"):
                self._faults.setdefault(a.device, []).append(a)
        self.sim_start: float | None = sim_start if sim_start is not None else town.start
        self._gw_index = [g.id for g in town.gateways].index(gw_id)
        self._arrivals: dict[int, list[tuple[float, float, str]]] = {}
        self._tag_cfg = {r.id: tag_config(r.key) for r in self.residents}
        self._stuck: dict[str, float] = {}

    def _due(self, phase: float, t0: float, t1: float) -> list[float]:
        """Report times k·step + phase in (t0, t1]."""
        k = math.floor((t0 - phase) / self.step) + 1
        out = []
        while (ts := k * self.step + phase) <= t1:
            out.append(ts)
            k += 1
        return out

    def poll(self, now: float) -> tuple[list[Advert], list[tuple[str, bytes, float]]]:
        """Everything the devices sent since the previous poll, in time order."""
        if self._t is None:
            self._t = now
            if self.sim_start is None:
                self.sim_start = now
            return [], []
        t0, self._t = self._t, now
        adverts: list[tuple[float, Advert]] = []
        lines: list[tuple[str, bytes, float]] = []
        gwpos = (self.gw.lat, self.gw.lon)
        for idx, node in self.nodes:
            phase = (idx * 0.37) % self.step
            for ts in self._due(phase, t0, now):
                wiring = self._wiring(node, ts)
                if wiring is None:
                    continue  # a dead node sends nothing
                r = node_reading(self.town, node, idx, ts, wiring)
                sd = ad_structures(r.payload)[0x16][2:]  # after the 16-bit UUID
                for rep in range(self.repeats):
                    adverts.append((ts + 0.1 * rep, Advert(
                        node.address, ts + 0.1 * rep, _rssi(gwpos, (node.lat, node.lon), -rep),
                        {bthome.SERVICE_UUID: sd})))
        origin = self.sim_start or now
        for i, res in enumerate(self.residents):
            phase = (int(res.id[-3:]) * 0.53) % self.step
            for ts in self._due(phase, t0, now):
                if resident_place(self.town, res, ts, origin) != self.gw.id:
                    continue
                payload = self._tag_payload(res, ts, phase, origin)
                mfr = ad_structures(payload)[0xFF]
                company = mfr[0] | (mfr[1] << 8)
                frame = mfr[2:]
                # A non-resolvable private address that changes with the id.
                addr = ":".join(f"{b:02X}" for b in bytes([frame[2] & 0x3F]) + frame[3:8])
                pos = self._home[res.id] if res.gw == self.gw.id else gwpos
                adverts.append((ts, Advert(addr, ts, _rssi(gwpos, pos, 0),
                                           manufacturer_data={company: frame})))
        for ts in self._due(0.0, t0, now):
            for addr in self._phones(ts):
                # A phone's advert: someone else's manufacturer data, not ours to decode.
                adverts.append((ts, Advert(addr, ts, _rssi(gwpos, gwpos, -10), manufacturer_data={
                    0x0075: b"\x42\x04\x01\x80"})))
        encode_line = firmware().pulse_line.encode
        for i, hh in enumerate(self.households):
            phase = (i * 0.71) % self.step
            boot = household_energy_kwh(hh, BOOT_AT, self.town, origin)
            for ts in self._due(phase, t0, now):
                kwh = household_energy_kwh(hh, ts, self.town, origin) - boot
                count = int(kwh * hh.pulses_per_kwh)
                seq = int((ts - BOOT_AT) // self.step)
                lines.append((hh.id, bytes(encode_line(seq, count, int(ts - BOOT_AT))), ts))
        for m in [m for m in self._arrivals if m < (t0 - PHONE_MAX_STAY_S) // 60]:
            del self._arrivals[m]
        adverts.sort(key=lambda a: a[0])
        lines.sort(key=lambda x: x[2])
        return [a for _, a in adverts], lines

    def _wiring(self, node: HeatNode, ts: float) -> Wiring | None:
        """The node's chips at ts, given the faults injected on it (None: it is dead)."""
        origin = self.sim_start or ts
        w = Wiring()
        for a in self._faults.get(node.id, ()):
            if not (origin + a.at <= ts < origin + (a.end if a.end is not None else math.inf)):
                continue
            if a.kind == "sensor_dead":
                return None
            if a.kind == "bus_noise":
                w = Wiring(w.light, w.surface, 0.3, w.stuck_air_c)
            elif a.kind == "light_missing":
                w = Wiring(False, w.surface, w.crc_error_rate, w.stuck_air_c)
            elif a.kind == "sensor_stuck":
                if node.id not in self._stuck:
                    self._stuck[node.id] = round(place_state(self.town, node, origin + a.at)
                                                 .air_c, 2)
                w = Wiring(w.light, w.surface, w.crc_error_rate, self._stuck[node.id])
        return w

    def _tag_payload(self, res: Resident, ts: float, phase: float, origin: float) -> bytes:
        """The tag firmware's advert at this wake; its RTC state is rebuilt from the incidents
        before it, so the bytes do not depend on when this source was started."""
        def wake_of(at: float) -> float:  # the first timer wake at or after an incident
            return phase + self.step * math.ceil((origin + at - phase) / self.step - 1e-9)

        events = 0
        sos_until = fall_until = 0
        button = False
        motion: tuple[tuple[int, int, int], ...] = ()
        for a in self._incidents.get(res.id, ()):
            w = wake_of(a.at)
            if w > ts + 1e-6:
                continue
            if abs(w - ts) < 1e-6:
                if a.kind == "sos":
                    button = True
                else:
                    motion = fall_motion() if a.kind == "fall" else stumble_motion()
                continue
            if a.kind == "stumble":
                continue
            events += 1
            until = int(w) + int(SOS_HOLD_S)
            if a.kind == "sos":
                sos_until = max(sos_until, until)
            else:
                fall_until = max(fall_until, until)
        return tag_wake(res.key, self._tag_cfg[res.id], TagWake(
            int(ts), 3950, events, sos_until, fall_until, button, motion))

    def _minute_arrivals(self, minute: int) -> list[tuple[float, float, str]]:
        """(arrival, departure, address) of the pedestrians arriving in one minute."""
        got = self._arrivals.get(minute)
        if got is None:
            rng = np.random.default_rng((self.town.seed, self._gw_index, minute))
            wbgt = area_wbgt(self.town, self.gw.id, minute * 60.0)
            n = rng.poisson(pedestrian_rate(minute * 60.0, wbgt))
            got = []
            for _ in range(n):
                arrive = minute * 60.0 + float(rng.uniform(0, 60))
                stay = min(PHONE_MAX_STAY_S, float(rng.exponential(dwell_mean_s(wbgt))))
                mac = rng.integers(0, 256, 6)
                mac[0] = (mac[0] & 0x3F) | 0xC0  # a random static address, as phones use
                got.append((arrive, arrive + stay, ":".join(f"{b:02X}" for b in mac)))
            self._arrivals[minute] = got
        return got

    def _phones(self, ts: float) -> list[str]:
        first = int((ts - PHONE_MAX_STAY_S) // 60)
        return [addr for m in range(first, int(ts // 60) + 1)
                for a, d, addr in self._minute_arrivals(m) if a <= ts < d]


def open_gateway_source(cfg: Any, speed: float | None = None) -> Any:
    """The sim's entry in the gateway's source registry (`machimori.gateway.sources`: `sim`).

    With a sim configuration, that configuration's town and gateway; without one (a scan),
    the demo town's first gateway. Adverts carry simulated time, so the clock is the sim's.
    """
    from gateway.sources import OpenedSource

    from .town import build_town, town_for

    own = cfg is not None and cfg.source == "sim"
    town = town_for(cfg.sim) if own else build_town(1)
    gw = cfg.id if cfg is not None and cfg.id in town.by_gateway else town.gateways[0].id
    wall = time.time()
    if own and speed is None:
        s = cfg.sim
        clock = SimClock(s.sim_start or wall, s.wall_anchor or wall, s.speed)
    else:
        clock = SimClock(wall, wall, speed or 1.0)
    return OpenedSource(SimSource(town, gw), lambda: clock.now(time.time()),
                        tag_keys={r.id: r.key for r in town.residents})
