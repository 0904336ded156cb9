"""A synthetic town: gateways, heat nodes, residents with tags and households with meters.

Everything is a deterministic function of the seed and the simulated time, so a restarted
gateway, a test and the demo all see the same town. Anomalies are listed with their ground truth.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from gateway.kernels.heat import LUX_PER_WM2, wbgt_moe
from gateway.kernels.sun import clear_sky_ghi

from .solar import sun_position

JST = dt.timezone(dt.timedelta(hours=9))
# Kumagaya (熊谷市), one of Japan's hottest towns: a fitting default centre.
DEFAULT_CENTER = (36.1473, 139.3886)
M_PER_DEG_LAT = 111_320.0
SURFACE_GAIN = {"asphalt": 0.024, "concrete": 0.018, "grass": 0.008}  # °C per W/m² in sun


@dataclass(frozen=True)
class Gateway:
    id: str
    lat: float
    lon: float


@dataclass(frozen=True)
class HeatNode:
    id: str
    address: str
    gw: str
    lat: float
    lon: float
    surface: str
    obstruction_az: float  # direction of the nearest tall building, degrees from north
    obstruction_elev: float  # how high it reaches above the horizon, degrees
    tree_shade: float  # fraction of sunlight removed by trees/awnings regardless of the sun
    uhi_c: float  # local heat-island offset
    has_globe: bool
    name: str


@dataclass(frozen=True)
class Household:
    id: str
    gw: str
    lat: float
    lon: float
    base_w: float
    morning_w: float
    evening_w: float
    pulses_per_kwh: float


@dataclass(frozen=True)
class Resident:
    id: str  # also the tag's device id
    person: str
    household: str
    gw: str
    key: bytes
    out_from_h: float  # daily outing, local hours
    out_to_h: float


@dataclass(frozen=True)
class Anomaly:
    kind: str  # "sos" | "fall"
    device: str
    at: float  # seconds after the simulation start


@dataclass(frozen=True)
class Town:
    seed: int
    center: tuple[float, float]
    gateways: tuple[Gateway, ...]
    nodes: tuple[HeatNode, ...]
    households: tuple[Household, ...]
    residents: tuple[Resident, ...]
    anomalies: tuple[Anomaly, ...]
    streets: tuple[tuple[tuple[float, float], tuple[float, float]], ...] = field(repr=False)

    @cached_property
    def by_gateway(self) -> dict[str, dict[str, list]]:
        out: dict[str, dict[str, list]] = {g.id: {"nodes": [], "households": [], "residents": []}
                                           for g in self.gateways}
        for n in self.nodes:
            out[n.gw]["nodes"].append(n)
        for h in self.households:
            out[h.gw]["households"].append(h)
        for r in self.residents:
            out[r.gw]["residents"].append(r)
        return out

    def basemap(self) -> dict:
        """Streets as GeoJSON, for the planners' maps."""
        feats = [{"type": "Feature", "properties": {"kind": "street"},
                  "geometry": {"type": "LineString",
                               "coordinates": [[a[1], a[0]], [b[1], b[0]]]}}
                 for a, b in self.streets]
        return {"type": "FeatureCollection", "features": feats}


def _offset(center: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat = center[0] + north_m / M_PER_DEG_LAT
    lon = center[1] + east_m / (M_PER_DEG_LAT * math.cos(math.radians(center[0])))
    return round(lat, 6), round(lon, 6)


def town_for(sim: Any) -> Town:
    """The town a gateway configuration's [sim] section describes (every gateway alike)."""
    return build_town(sim.town_seed, gateways=sim.gateways, nodes=sim.nodes,
                      residents=sim.residents, households=sim.households)


def build_town(seed: int = 1, gateways: int = 3, nodes: int = 30, residents: int = 20,
               households: int = 20, center: tuple[float, float] = DEFAULT_CENTER,
               size_m: float = 1200.0) -> Town:
    rng = np.random.default_rng(seed)
    half = size_m / 2
    gws = tuple(Gateway(f"gw-{i + 1:02d}", *_offset(
        center, half * 0.5 * math.sin(2 * math.pi * i / gateways),
        half * 0.5 * math.cos(2 * math.pi * i / gateways))) for i in range(gateways))

    def nearest(lat: float, lon: float) -> str:
        return min(gws, key=lambda g: (g.lat - lat) ** 2 + (g.lon - lon) ** 2).id

    streets = []
    step = 150.0
    k = -half
    while k <= half + 1e-6:
        streets.append((_offset(center, k, -half), _offset(center, k, half)))
        streets.append((_offset(center, -half, k), _offset(center, half, k)))
        k += step
    surfaces = ("asphalt", "asphalt", "concrete", "grass")
    node_list = []
    placed: list[tuple[float, float]] = []
    for i in range(nodes):
        # Nodes sit along streets (lamp posts), snapped to the grid in one direction.
        for _ in range(100):  # keep nodes 40 m apart, so each has its own spot on a map
            n_m = float(rng.uniform(-half, half))
            e_m = float(rng.uniform(-half, half))
            if i % 2:
                n_m = round(n_m / step) * step
            else:
                e_m = round(e_m / step) * step
            if all(math.dist((n_m, e_m), q) >= 40.0 for q in placed):
                break
        placed.append((n_m, e_m))
        lat, lon = _offset(center, n_m, e_m)
        addr = "F0:" + ":".join(f"{b:02X}" for b in rng.integers(0, 256, 5))
        node_list.append(HeatNode(
            id=f"heat-{i + 1:03d}", address=addr, gw=nearest(lat, lon), lat=lat, lon=lon,
            surface=surfaces[i % len(surfaces)], obstruction_az=float(rng.uniform(0, 360)),
            obstruction_elev=float(rng.uniform(5, 55)),
            tree_shade=float(rng.choice([0.0, 0.0, 0.3, 0.7])),
            uhi_c=float(rng.normal(0.6, 0.5)), has_globe=(i % 5 == 0),
            name=f"街区{i + 1:02d}"))
    hh_list = []
    for i in range(households):
        lat, lon = _offset(center, float(rng.uniform(-half, half)), float(rng.uniform(-half, half)))
        hh_list.append(Household(
            id=f"meter-{i + 1:03d}", gw=nearest(lat, lon), lat=lat, lon=lon,
            base_w=float(rng.uniform(80, 250)), morning_w=float(rng.uniform(300, 1200)),
            evening_w=float(rng.uniform(400, 1500)), pulses_per_kwh=1000.0))
    res_list = []
    for i in range(residents):
        hh = hh_list[i % len(hh_list)]
        start = float(rng.uniform(9, 15))
        res_list.append(Resident(
            id=f"tag-{i + 1:03d}", person=f"person-{i + 1:03d}", household=hh.id, gw=hh.gw,
            key=bytes(rng.integers(0, 256, 16, dtype=np.uint8)), out_from_h=start,
            out_to_h=start + float(rng.uniform(0.5, 2.0))))
    anomalies = (Anomaly("sos", res_list[2].id, 15 * 60.0), Anomaly("fall", res_list[6].id,
                                                                   25 * 60.0)) \
        if residents > 6 else ()
    return Town(seed, center, gws, tuple(node_list), tuple(hh_list), tuple(res_list), anomalies,
                tuple(streets))


# ---- weather and physics (pure functions of time)

def _local_hours(t: float) -> float:
    return ((t + 9 * 3600) % 86400) / 3600.0


def _day_noise(seed: int, t: float, salt: int) -> float:
    day = int((t + 9 * 3600) // 86400)
    return float(np.random.default_rng((seed, day, salt)).normal())


@dataclass(frozen=True)
class Weather:
    air_c: float
    dewpoint_c: float
    ghi: float  # W/m², after clouds
    wind_ms: float
    sun_elev: float
    sun_az: float


def weather(town: Town, t: float) -> Weather:
    h = _local_hours(t)
    tmax = 35.0 + 1.5 * _day_noise(town.seed, t, 1)
    tmin = 26.0 + 0.8 * _day_noise(town.seed, t, 2)
    # Warmest at 14:00, coolest at 05:00; a cosine rise and an exponential-like fall.
    if 5 <= h <= 14:
        f = 0.5 - 0.5 * math.cos(math.pi * (h - 5) / 9)
    else:
        since = (h - 14) % 24
        f = max(0.0, 1 - since / 15) ** 1.5
    air = tmin + (tmax - tmin) * f
    elev, az = sun_position(t, *town.center)
    cloud = 0.15 + 0.1 * math.sin(t / 1800.0 + town.seed)  # slow passing clouds
    cos_z = math.sin(math.radians(elev))
    ghi = float(clear_sky_ghi(np.array([cos_z]))[0]) * (1 - cloud)  # Haurwitz, as the gateway
    return Weather(air, 23.5 + 0.7 * _day_noise(town.seed, t, 3), ghi,
                   1.5 + 0.8 * math.sin(t / 900.0), elev, az)


def rh_from(air_c: float, dewpoint_c: float) -> float:
    def es(x: float) -> float:
        return 6.112 * math.exp(17.62 * x / (243.12 + x))
    return max(5.0, min(100.0, 100.0 * es(dewpoint_c) / es(air_c)))


def node_in_shade(node: HeatNode, w: Weather) -> bool:
    d_az = abs((w.sun_az - node.obstruction_az + 180) % 360 - 180)
    return w.sun_elev <= 0 or (d_az < 45 and w.sun_elev < node.obstruction_elev)


@dataclass(frozen=True)
class NodeReading:
    air_c: float
    humidity: float
    illuminance: float
    surface_c: float
    globe_c: float | None
    battery: int
    in_shade: bool


def node_reading(town: Town, node: HeatNode, index: int, t: float) -> NodeReading:
    w = weather(town, t)
    rng = np.random.default_rng((town.seed, index, int(t)))
    shade = node_in_shade(node, w)
    sun = 0.0 if shade else 1.0 - node.tree_shade
    direct = w.ghi * sun
    diffuse = w.ghi * 0.15
    air = w.air_c + node.uhi_c + 0.002 * direct + rng.normal(0, 0.08)
    lux = max(0.0, (direct + diffuse) * LUX_PER_WM2 * (1 + rng.normal(0, 0.02)))
    surface = air + SURFACE_GAIN[node.surface] * (direct + diffuse) - 1.0 + rng.normal(0, 0.2)
    globe = air + 0.011 * (direct + 0.5 * diffuse) + rng.normal(0, 0.1) if node.has_globe else None
    # Solar-charged 18650: between 60 % and 100 % over a slow seasonal-ish cycle per node.
    battery = int(80 + 20 * math.sin(t / 86400.0 / 30.0 + index))
    return NodeReading(round(air, 2), round(rh_from(air, w.dewpoint_c), 2), round(lux, 2),
                       round(surface, 2), None if globe is None else round(globe, 2), battery,
                       shade)


def household_energy_kwh(hh: Household, t: float) -> float:
    """Cumulative energy at t: the closed-form integral of a smooth daily load profile.

    P(h) = base + morning·bump(7:00, 1.5 h) + evening·bump(19:00, 3 h), bump = raised cosine.
    """
    def bump_integral(t_: float, centre_h: float, width_h: float) -> float:
        # Integral of a raised-cosine bump repeated daily, in watt-hours, from 0 to t_.
        days, sec = divmod(t_ + 9 * 3600, 86400)
        h = sec / 3600.0
        full = width_h / 2  # area of one bump in hour units: width/2 (peak 1)
        a, b = centre_h - width_h / 2, centre_h + width_h / 2

        def part(x: float) -> float:
            x = min(max(x, a), b)
            u = (x - a) / width_h
            return width_h * (u - math.sin(2 * math.pi * u) / (2 * math.pi)) / 2
        return days * full + part(h)
    wh = hh.base_w * t / 3600.0
    wh += hh.morning_w * bump_integral(t, 7.0, 1.5)
    wh += hh.evening_w * bump_integral(t, 19.0, 3.0)
    return wh / 1000.0


def resident_at_home(r: Resident, t: float) -> bool:
    h = _local_hours(t)
    return not (r.out_from_h <= h < r.out_to_h)


def sim_epoch(date: str = "2026-08-03T09:00:00") -> float:
    """Unix time of a local (JST) timestamp: the default demo starts on a hot August morning."""
    return dt.datetime.fromisoformat(date).replace(tzinfo=JST).timestamp()


def pedestrians_per_minute(town: Town, t: float) -> float:
    """Arrivals near one gateway per minute: busy by day, few at night, fewer in great heat.

    The heat response (about −8 % per °C of WBGT above 25) is what the heat service measures:
    people avoid the street when it is dangerous.
    """
    h = _local_hours(t)
    base = 2.0 + 10.0 * max(0.0, math.sin(math.pi * (h - 6) / 14)) if 6 <= h <= 20 else 1.0
    w = weather(town, t)
    rh = rh_from(w.air_c, w.dewpoint_c)
    sr = w.ghi / 1000.0
    wbgt = float(wbgt_moe(np.array([w.air_c]), np.array([rh]), np.array([sr]),
                          np.array([w.wind_ms]))[0])
    return base * max(0.3, 1.0 - 0.08 * max(0.0, wbgt - 25.0))
