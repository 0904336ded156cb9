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
from machimori.contract import bthome, pulse
from machimori.contract import tag as tagfmt

from .town import Town, household_energy_kwh, node_reading, pedestrians_per_minute, resident_at_home

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
    def __init__(self, town: Town, gw_id: str, step_s: float = 10.0, repeats: int = 2):
        if gw_id not in town.by_gateway:
            raise ValueError(f"the town has no gateway {gw_id!r}")
        self.town = town
        self.gw = next(g for g in town.gateways if g.id == gw_id)
        mine = town.by_gateway[gw_id]
        self.nodes = [(town.nodes.index(n), n) for n in mine["nodes"]]
        self.households = mine["households"]
        self.residents = mine["residents"]
        self.step = step_s
        self.repeats = repeats
        self._t: float | None = None
        self._events: dict[str, int] = {r.id: 0 for r in self.residents}
        homes = {h.id: (h.lat, h.lon) for h in town.households}
        self._home = {r.id: homes[r.household] for r in self.residents}
        self._anomalies = {(a.device, a.kind): a.at for a in town.anomalies}
        self.sim_start: float | None = None
        self._gw_index = [g.id for g in town.gateways].index(gw_id)
        self._arrivals: dict[int, list[tuple[float, float, str]]] = {}

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
                r = node_reading(self.town, node, idx, ts)
                packet = int(ts // self.step) & 0xFF
                sd = bthome.encode_service_data(bthome.heat_node_objects(
                    packet, r.battery, r.air_c, r.humidity, r.illuminance, r.surface_c,
                    r.globe_c))
                for rep in range(self.repeats):
                    adverts.append((ts + 0.1 * rep, Advert(
                        node.address, ts + 0.1 * rep, _rssi(gwpos, (node.lat, node.lon), -rep),
                        {bthome.SERVICE_UUID: sd})))
        for i, res in enumerate(self.residents):
            phase = (i * 0.53) % self.step
            for ts in self._due(phase, t0, now):
                if not resident_at_home(res, ts):
                    continue
                flags = 0
                elapsed = ts - (self.sim_start or ts)
                for kind, bit in (("sos", tagfmt.FLAG_SOS), ("fall", tagfmt.FLAG_FALL)):
                    at = self._anomalies.get((res.id, kind))
                    if at is not None and at <= elapsed < at + 60:
                        flags |= bit
                if flags and self._events[res.id] % 2 == 0:
                    self._events[res.id] += 1  # the counter moves once per incident
                elif not flags and self._events[res.id] % 2 == 1:
                    self._events[res.id] += 1
                payload = tagfmt.encode(res.key, ts, TAG_K, flags, 80, self._events[res.id])
                # A non-resolvable private address that changes with the id.
                addr = ":".join(f"{b:02X}" for b in bytes([payload[2] & 0x3F]) + payload[3:8])
                adverts.append((ts, Advert(addr, ts, _rssi(gwpos, self._home[res.id], 0),
                                           manufacturer_data={tagfmt.COMPANY_ID: payload})))
        for ts in self._due(0.0, t0, now):
            for addr in self._phones(ts):
                # A phone's advert: someone else's manufacturer data, not ours to decode.
                adverts.append((ts, Advert(addr, ts, _rssi(gwpos, gwpos, -10), manufacturer_data={
                    0x0075: b"\x42\x04\x01\x80"})))
        for i, hh in enumerate(self.households):
            phase = (i * 0.71) % self.step
            for ts in self._due(phase, t0, now):
                count = int(household_energy_kwh(hh, ts - BOOT_AT) * hh.pulses_per_kwh)
                seq = int((ts - BOOT_AT) // self.step)
                lines.append((hh.id, pulse.encode(seq, count, int(ts - BOOT_AT)), ts))
        for m in [m for m in self._arrivals if m < (t0 - PHONE_MAX_STAY_S) // 60]:
            del self._arrivals[m]
        adverts.sort(key=lambda a: a[0])
        lines.sort(key=lambda x: x[2])
        return [a for _, a in adverts], lines


    def _minute_arrivals(self, minute: int) -> list[tuple[float, float, str]]:
        """(arrival, departure, address) of the pedestrians arriving in one minute."""
        got = self._arrivals.get(minute)
        if got is None:
            rng = np.random.default_rng((self.town.seed, self._gw_index, minute))
            n = rng.poisson(pedestrians_per_minute(self.town, minute * 60.0))
            got = []
            for _ in range(n):
                arrive = minute * 60.0 + float(rng.uniform(0, 60))
                stay = min(PHONE_MAX_STAY_S, float(rng.exponential(300.0)))
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
