"""Weather, and each heat node's place through the day: its physical state, its true WBGT, and
what its chips read (through sim/hardware.py, the node's own firmware and the emulators)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from . import physics
from .hardware import Calibration, HeatPhysical, Wiring, heat_config, heat_wake
from .solar import sun_position
from .town import DAY, HeatNode, Town, local_hours


def _day_noise(seed: int, t: float, salt: int) -> float:
    return _noise(seed, int((t + 9 * 3600) // DAY), salt)


@lru_cache(maxsize=256)
def _noise(seed: int, day: int, salt: int) -> float:
    return float(np.random.default_rng((seed, day, salt)).normal())


def _tmax(seed: int, day: int) -> float:
    return 35.0 + 1.5 * _noise(seed, day, 1)


def _tmin(seed: int, day: int) -> float:
    return 26.0 + 0.8 * _noise(seed, day, 2)


@dataclass(frozen=True)
class Weather:
    air_c: float
    dewpoint_c: float
    ghi: float  # W/m², after clouds
    wind_ms: float
    sun_elev: float
    sun_az: float
    sky: physics.Sky

    @property
    def rh(self) -> float:
        return rh_from(self.air_c, self.dewpoint_c)


def weather(town: Town, t: float) -> Weather:
    return _weather(town.seed, town.center, t)


@lru_cache(maxsize=1024)
def _weather(seed: int, center: tuple[float, float], t: float) -> Weather:
    h = local_hours(t)
    day = int((t + 9 * 3600) // DAY)
    # Warmest at 14:00, coolest at 05:00; a cosine rise and an exponential-like fall. The night's
    # fall runs from one day's maximum to the next day's minimum, so that drawing a new day's
    # extremes at midnight makes no step in the air temperature (a step every node would see
    # at 00:00, which the gateway rightly calls a spike).
    if 5 <= h <= 14:
        lo, hi = _tmin(seed, day), _tmax(seed, day)
        f = 0.5 - 0.5 * math.cos(math.pi * (h - 5) / 9)
    elif h > 14:
        lo, hi = _tmin(seed, day + 1), _tmax(seed, day)
        f = max(0.0, 1 - (h - 14) / 15) ** 1.5
    else:
        lo, hi = _tmin(seed, day), _tmax(seed, day - 1)
        f = max(0.0, 1 - (h + 10) / 15) ** 1.5
    air = lo + (hi - lo) * f
    elev, az = sun_position(t, *center)
    cloudy_day = max(0.0, 0.2 * _day_noise(seed, t, 4))
    cloud = min(1.0, cloudy_day + 0.15 + 0.12 * math.sin(t / 1800.0 + seed))
    doy = int(((t + 9 * 3600) // DAY) % 365.2422)
    s = physics.sky(elev, doy, cloud)
    # the dew point drifts from one day's value to the next through the day: no step at midnight
    frac = h / 24.0
    dew = 23.5 + 0.7 * ((1 - frac) * _noise(seed, day, 3) + frac * _noise(seed, day + 1, 3))
    return Weather(air, dew, s.ghi,
                   max(0.3, 1.5 + 0.8 * math.sin(t / 900.0)), elev, az, s)


def rh_from(air_c: float, dewpoint_c: float) -> float:
    return max(5.0, min(100.0, 100.0 * physics.vapour_pressure_hpa(dewpoint_c)
                        / physics.vapour_pressure_hpa(air_c)))


def node_in_shade(node: HeatNode, w: Weather) -> bool:
    """The sun is below the horizon or behind a building (trees only thin the beam)."""
    return w.sun_elev <= 0 or w.sun_elev <= node.horizon[int(w.sun_az // 10) % 36]


ALBEDO = {"asphalt": 0.10, "concrete": 0.30, "grass": 0.23}
# Thermal lag: the ground, the air above it and a black globe do not jump when a shadow moves.
LAG_STEP_S = 60.0
AIR_LAG_S = 600.0
GROUND_LAG_S = 1200.0  # asphalt and concrete warm over tens of minutes
GLOBE_LAG_S = 900.0  # a 150 mm black globe's time constant is 15–20 minutes
_LAG_MEMORY = 8.0  # history kept, in time constants (e^-8: what is forgotten)
_lag_cache: dict[tuple, float] = {}
_CACHE_MAX = 400_000


def lagged(key: tuple, f: Callable[[float], float], t: float, tau_s: float) -> float:
    """A first-order lag of f with time constant tau_s, at t: the exact discrete filter
    L(g) = d·L(g − Δ) + (1 − d)·f(g), d = e^(−Δ/τ), on a fixed one-minute grid shared by every
    caller, interpolated between grid points. Each value is a pure function of time: the
    recursion starts at a block boundary (between 8 and 16 time constants back) with L = f, so
    the same moment gets the same value however the calls arrived. `key` names the quantity."""
    g = math.floor(t / LAG_STEP_S) * LAG_STEP_S
    a = (t - g) / LAG_STEP_S
    lo = _lag_at(key, f, g, tau_s)
    return lo if a == 0 else (1 - a) * lo + a * _lag_at(key, f, g + LAG_STEP_S, tau_s)


def _lag_at(key: tuple, f: Callable[[float], float], g: float, tau: float) -> float:
    k = max(1, int(_LAG_MEMORY * tau / LAG_STEP_S))
    block = k * LAG_STEP_S
    anchor = math.floor(g / block) * block - block
    if len(_lag_cache) > _CACHE_MAX:
        _lag_cache.clear()
    x = g
    while x > anchor and (key, tau, anchor, x) not in _lag_cache:
        x -= LAG_STEP_S
    value = _lag_cache.get((key, tau, anchor, x))
    if value is None:
        x = anchor
        value = f(anchor)
        _lag_cache[(key, tau, anchor, x)] = value
    d = math.exp(-LAG_STEP_S / tau)
    while x < g:
        x += LAG_STEP_S
        value = d * value + (1 - d) * f(x)
        _lag_cache[(key, tau, anchor, x)] = value
    return value


def _sun(town: Town, node: HeatNode, t: float) -> tuple[Weather, float, float]:
    w = weather(town, t)
    sunlit = 0.0 if node_in_shade(node, w) else 1.0 - node.tree_shade
    return w, sunlit, w.sky.dni * sunlit * max(0.0, math.sin(math.radians(w.sun_elev)))


def _instant(town: Town, node: HeatNode, t: float, beam_lagged: float | None = None
             ) -> physics.PlaceState:
    """The spot at t with the ground at air temperature (its own lag comes on top)."""
    w, sunlit, beam = _sun(town, node, t)
    air = w.air_c + node.uhi_c + 0.0015 * (beam if beam_lagged is None else beam_lagged)
    wind = w.wind_ms * (0.4 + 0.6 * node.sky_view)  # buildings shelter the spot
    return physics.PlaceState(air, rh_from(air, w.dewpoint_c), wind, w.sky, sunlit,
                              node.sky_view, air, ALBEDO[node.surface])


def _key(town: Town, node: HeatNode, what: str) -> tuple:
    return (town.seed, town.center, town.origin, node.id, what)


def place_state(town: Town, node: HeatNode, t: float) -> physics.PlaceState:
    """The physical state of the node's spot: a sunlit street warms the air above it and the
    ground, each with its lag."""
    beam = lagged(_key(town, node, "beam"), lambda x: _sun(town, node, x)[2], t, AIR_LAG_S)
    p = _instant(town, node, t, beam)
    ground = lagged(_key(town, node, "ground"),
                    lambda x: physics.surface_temperature(_instant(town, node, x), node.surface),
                    t, GROUND_LAG_S)
    return replace(p, ground_c=ground)


def node_truth(town: Town, node: HeatNode, t: float) -> physics.Wbgt:
    """The true WBGT at the node's spot (ISO 7243: the instruments at equilibrium)."""
    return physics.wbgt(place_state(town, node, t))


def node_physical(town: Town, node: HeatNode, index: int, t: float) -> HeatPhysical:
    p = place_state(town, node, t)
    globe = None
    if node.has_globe:  # the DS18B20 sits inside a globe that lags the equilibrium
        globe = lagged(_key(town, node, "globe"),
                       lambda x: physics.globe_temperature(place_state(town, node, x)), t,
                       GLOBE_LAG_S)
    # Solar-charged 18650: 3.75–4.15 V over a slow cycle per node.
    mv = int(3950 + 200 * math.sin(t / DAY / 30.0 + index))
    return HeatPhysical(p.air_c, p.rh, physics.illuminance(p), p.ground_c, globe, mv)


@lru_cache(maxsize=4096)
def _calibration(seed: int, index: int) -> Calibration:
    return Calibration.draw(np.random.default_rng((seed, 11, index)))


@lru_cache(maxsize=2)
def _cfg(globe: bool) -> dict:
    return heat_config(globe)


@dataclass(frozen=True)
class NodeReading:
    """What the node's firmware put in its advert (None: the channel failed), and the advert."""

    air_c: float | None
    humidity: float | None
    illuminance: float | None
    surface_c: float | None
    globe_c: float | None
    battery: int | None
    in_shade: bool
    payload: bytes
    light_count: int  # the BH1750's last raw count (0xFFFF: saturated)


def node_reading(town: Town, node: HeatNode, index: int, t: float,
                 wiring: Wiring | None = None) -> NodeReading:
    """One wake of the node at t: its physical state through its chips and its firmware."""
    phys = node_physical(town, node, index, t)
    rng = np.random.default_rng((town.seed, index, int(t)))
    cfg = _cfg(node.has_globe)
    packet = int(t // 10) & 0xFF
    payload, s = heat_wake(phys, _calibration(town.seed, index), wiring or Wiring(), cfg,
                           packet, rng)

    def v(x: int | None) -> float | None:
        return None if x is None else x / 100.0

    from .firmware import firmware

    pct = firmware().battery.percent(phys.battery_mv)
    return NodeReading(v(s.air_c()), v(s.humidity()), v(s.lux()), v(s.surface_c()),
                       v(s.globe_c()), pct, node_in_shade(node, weather(town, t)), payload,
                       int(s.light.count))
