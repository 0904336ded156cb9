"""The residents' lives: routines, where each tag is heard, household power, pedestrians, and the
schedule of injected anomalies (the ground truth sim/truth.py writes out).

Routines: daily outings that move a little from day to day, work on weekdays, day care on two
weekdays, a weekly visit to another gateway's area (the tag is heard there), holidays and hospital
stays (nobody home: the tag silent, the meter at its base load), visitors (extra power).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from . import physics
from .town import DAY, Anomaly, Household, Resident, Town, local_hours, weekday

SOS_HOLD_S = 300.0  # the tag firmware's default sos_hold_s / fall_hold_s
# Kinds whose resident or household is away for their whole span.
AWAY_KINDS = ("hospital", "holiday")


def _day_shift(r: Resident, t: float) -> float:
    """Outings move by up to ±1 h from day to day (hours)."""
    day = int((t + 9 * 3600) // DAY)
    return float(np.random.default_rng((int(r.id[-3:]), day)).uniform(-1.0, 1.0))


def _away(town: Town, r: Resident, t: float, start: float) -> bool:
    rel = t - start
    for a in town.anomalies:
        if a.kind in AWAY_KINDS and a.end is not None and a.at <= rel < a.end and (
                a.person == r.person or (a.kind == "holiday" and a.household == r.household)):
            return True
    return False


def wander_gw(town: Town, r: Resident) -> str | None:
    """Where the resident walks when they wander at night: the first area neither home nor
    their weekly visit's (a place their tag is never heard)."""
    return next((g.id for g in town.gateways if g.id not in (r.gw, r.visit_gw)), None)


def resident_place(town: Town, r: Resident, t: float, start: float) -> str | None:
    """The gateway whose area the resident's tag is in at t, or None (out of every area)."""
    if _away(town, r, t, start):
        return None
    rel = t - start
    for a in town.anomalies:
        if (a.kind == "wandering" and a.person == r.person and a.end is not None
                and a.at <= rel < a.end):
            return wander_gw(town, r)
    h = local_hours(t)
    wd = weekday(t)
    if r.routine == "work" and wd < 5 and 8.0 <= h < 18.5:
        return None
    if wd in r.daycare_days and 9.0 <= h < 16.0:
        return None
    if r.visit_gw is not None and wd == r.visit_day and 10.0 <= h < 12.5:
        return r.visit_gw
    shift = _day_shift(r, t)
    if r.out_from_h + shift <= h < r.out_to_h + shift:
        return None
    return r.gw


def resident_at_home(r: Resident, t: float, town: Town | None = None,
                     start: float = 0.0) -> bool:
    if town is None:
        h = local_hours(t)
        return not (r.out_from_h <= h < r.out_to_h)
    return resident_place(town, r, t, start) == r.gw


# ---- household power

def _bumps_wh(hh: Household, t: float) -> float:
    """Integral (Wh) from the epoch to t of the morning and evening raised-cosine bumps
    (7:00 for 1.5 h, 19:00 for 3 h, local time), closed form."""
    days, sec = divmod(t + 9 * 3600, DAY)
    h = sec / 3600.0

    def one(peak_w: float, centre_h: float, width_h: float) -> float:
        a, b = centre_h - width_h / 2, centre_h + width_h / 2
        x = min(max(h, a), b)
        u = (x - a) / width_h
        part = width_h * (u - math.sin(2 * math.pi * u) / (2 * math.pi)) / 2
        return peak_w * (days * width_h / 2 + part)

    return one(hh.morning_w, 7.0, 1.5) + one(hh.evening_w, 19.0, 3.0)


def household_energy_kwh(hh: Household, t: float, town: Town | None = None,
                         start: float = 0.0) -> float:
    """Cumulative energy (kWh) since the epoch at unix time t: base load, morning and evening
    use; nothing but the base while everyone is away, extra while visitors are in."""
    wh = hh.base_w * t / 3600.0 + _bumps_wh(hh, t)
    if town is not None:
        for a in town.anomalies:
            if a.household != hh.id or a.end is None:
                continue
            s, e = start + a.at, start + a.end
            if t <= s:
                continue
            upto = min(t, e)
            if (a.kind in AWAY_KINDS and _household_empty(town, hh, a)) or a.kind == "no_life":
                wh -= _bumps_wh(hh, upto) - _bumps_wh(hh, s)
            elif a.kind == "visitor":
                wh += VISITOR_W * (upto - s) / 3600.0
    return wh / 1000.0


VISITOR_W = 600.0


def _household_empty(town: Town, hh: Household, a: Anomaly) -> bool:
    if a.kind == "holiday":
        return True
    return all(r.person == a.person for r in town.residents if r.household == hh.id)


# ---- pedestrians

def area_wbgt(town: Town, gw: str, t: float) -> float:
    """True WBGT where people walk in a gateway's area: the mean over its heat nodes' spots
    (shadier streets are cooler), or an open street when it has none."""
    from .places import node_truth, weather

    nodes = town.by_gateway[gw]["nodes"]
    if nodes:
        return float(np.mean([node_truth(town, n, t).wbgt for n in nodes[:6]]))
    w = weather(town, t)
    p = physics.PlaceState(w.air_c, w.rh, w.wind_ms, w.sky, 1.0, 0.8, w.air_c + 10, 0.15)
    return physics.wbgt(p).wbgt


def pedestrians_per_minute(town: Town, t: float, gw: str | None = None) -> float:
    """Arrivals near one gateway per minute: busy by day, few at night, fewer in great heat.

    About −8 % per °C of WBGT above 25: people avoid the street when it is dangerous, and an
    area with more shade keeps more of them (its WBGT is lower).
    """
    return pedestrian_rate(t, area_wbgt(town, gw or town.gateways[0].id, t))


def pedestrian_rate(t: float, wbgt: float) -> float:
    h = local_hours(t)
    base = 2.0 + 10.0 * max(0.0, math.sin(math.pi * (h - 6) / 14)) if 6 <= h <= 20 else 1.0
    return base * max(0.3, 1.0 - 0.08 * max(0.0, wbgt - 25.0))


def dwell_mean_s(wbgt: float) -> float:
    """People linger less when it is hot (mean stay near a gateway, seconds)."""
    return 300.0 * max(0.4, 1.0 - 0.05 * max(0.0, wbgt - 25.0))


# ---- the schedule of anomalies (seconds after the start, which is 09:00 local by default)

def _free(town: Town, r: Resident, rel: float, partial: Iterable[Anomaly]) -> bool:
    from .town import sim_epoch

    probe = Town(town.seed, town.center, town.gateways, town.nodes, town.households,
                 town.residents, tuple(partial), town.streets, town.buildings, town.origin)
    t0 = sim_epoch()
    return all(resident_place(probe, r, t0 + rel + dt, t0) == r.gw for dt in (0, 60, 240))


def schedule_anomalies(town: Town, rng: np.random.Generator,
                       start: float | None = None) -> tuple[Anomaly, ...]:
    """The town's incidents; a start before dawn (`start`, unix time) adds the night's: a
    resident wandering into another area at night and a household whose morning never comes."""
    out: list[Anomaly] = []
    res, nodes, hhs = town.residents, town.nodes, town.households
    if start is not None:
        out += _dawn_anomalies(town, start)

    def tag_incident(kind: str, rel: float, first: int = 0) -> None:
        for k in range(len(res)):
            r = res[(first + k) % len(res)]
            if _free(town, r, rel, out):
                end = rel + (SOS_HOLD_S if kind != "stumble" else 5.0)
                out.append(Anomaly(kind, r.id, rel, end, r.person, r.household))
                return

    if len(res) > 6:
        tag_incident("sos", 15 * 60.0, 2)
        tag_incident("fall", 25 * 60.0, 6)
        tag_incident("stumble", 45 * 60.0, 4)
    if len(nodes) > 11:
        out.append(Anomaly("bus_noise", nodes[11].id, 0.0, 3 * 3600.0))
    if len(nodes) > 8:
        out.append(Anomaly("light_missing", nodes[8].id, 3600.0, 8 * 3600.0))
    if len(nodes) > 3:
        out.append(Anomaly("sensor_stuck", nodes[3].id, 2 * 3600.0, 5 * 3600.0))
    if len(nodes) > 5:
        out.append(Anomaly("sensor_dead", nodes[5].id, 3 * 3600.0, 4 * 3600.0))
    if len(hhs) > 1:
        out.append(Anomaly("visitor", hhs[1].id, 4 * 3600.0, 8 * 3600.0, household=hhs[1].id))
    if len(res) > 9:
        r = res[9]
        out.append(Anomaly("hospital", r.id, DAY + 3600.0, 4 * DAY, r.person, r.household))
    if len(hhs) > 12:
        hh = hhs[12]
        out.append(Anomaly("holiday", hh.id, 2 * DAY, 5 * DAY, household=hh.id))
    # Later days: an SOS and a fall a day, at home, at a random daytime hour.
    for day in range(1, 8):
        for kind in ("sos", "fall"):
            rel = day * DAY + float(rng.uniform(0.5, 10.0)) * 3600.0
            if res:
                tag_incident(kind, rel, int(rng.integers(0, len(res))))
    return tuple(sorted(out, key=lambda a: (a.at, a.kind, a.device)))


WANDER_AT_S = 600.0  # ten minutes after the start, until 04:55 (night ends at 05:00)
WANDER_UNTIL_H = 4.0 + 55.0 / 60.0
NO_LIFE_UNTIL_H = 12.0  # the household's morning never comes, until noon
# ... and its last sign of life was the previous day's breakfast: no supper, no morning since.
# The household watch raises no_sign_of_life once the household has gone 1.5 × its longest
# learnt quiet run (a night, about 10 h) without activity — about 15 h: in the small hours,
# before a dawn start, so the demo's gateways report it in their first window.
NO_LIFE_SINCE_H = 8.0


def _dawn_anomalies(town: Town, start: float) -> list[Anomaly]:
    """Incidents only a start before dawn shows: night wandering (night is 22:00–05:00, the
    gateway's default) and a household with no sign of life since the previous day's
    breakfast through the morning (no supper, no morning use; the base load — a refrigerator —
    goes on). The household is one with a resident to ask (not the wanderer's) whose morning
    use is largest against its base load: where a missing morning is visible at all."""
    out: list[Anomaly] = []
    h = local_hours(start + WANDER_AT_S)
    if h < WANDER_UNTIL_H - 5.0 / 60.0 and town.residents:
        r = next((x for x in town.residents if x.visit_gw is None and wander_gw(town, x)), None)
        if r is not None:
            end = WANDER_AT_S + (WANDER_UNTIL_H - h) * 3600.0
            out.append(Anomaly("wandering", r.id, WANDER_AT_S, end, r.person, r.household))
    h0 = local_hours(start)
    lived = {r.household for r in town.residents} - {a.household for a in out}
    homes = [x for x in town.households if x.id in lived] or list(town.households)
    if h0 < 6.0 and homes:
        hh = max(homes, key=lambda x: (x.morning_w / x.base_w, x.id))
        since = -(h0 + 24.0 - NO_LIFE_SINCE_H) * 3600.0  # the previous day's NO_LIFE_SINCE_H
        out.append(Anomaly("no_life", hh.id, since, (NO_LIFE_UNTIL_H - h0) * 3600.0,
                           household=hh.id))
    return out
