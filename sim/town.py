"""A synthetic town: gateways, heat nodes, residents with tags and households with meters.

Everything is a deterministic function of the seed and the simulated time, so a restarted
gateway, a test and the demo all see the same town. The streets are generated (an organic,
non-grid pattern) or read from an OSM / GeoJSON file (sim/osm.py); buildings cast the shade.
Every injected anomaly is listed with its ground truth (sim/truth.py writes it to truth.jsonl).
The physics lives in sim/places.py and the residents' lives in sim/life.py.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import streets as st

JST = dt.timezone(dt.timedelta(hours=9))
# Kumagaya (熊谷市), one of Japan's hottest towns: a fitting default centre.
DEFAULT_CENTER = (36.1473, 139.3886)
M_PER_DEG_LAT = 111_320.0
DAY = 86400.0


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
    surface: str  # what the MLX90614 looks at: asphalt | concrete | grass
    horizon: tuple[float, ...]  # skyline elevation (°) in 36 azimuth bins from north
    tree_shade: float  # fraction of sunlight removed by trees/awnings regardless of the sun
    uhi_c: float  # local heat-island offset
    has_globe: bool
    name: str
    sky_view: float = 1.0  # fraction of the sky the spot sees

    @property
    def obstruction_elev(self) -> float:
        """The skyline's highest point, degrees above the horizon."""
        return max(self.horizon)

    @property
    def obstruction_az(self) -> float:
        """Where that highest point is: the middle of its 10° bin, degrees from north."""
        return 10.0 * self.horizon.index(max(self.horizon)) + 5.0


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
    routine: str = "home"  # home | work | daycare
    daycare_days: tuple[int, ...] = ()  # weekdays (Mon=0) at day care, 9:00–16:00
    visit_gw: str | None = None  # another gateway's area they visit
    visit_day: int = -1  # weekday of that visit, 10:00–12:30


@dataclass(frozen=True)
class Anomaly:
    """One injected incident; `at`/`end` are seconds after the simulation start."""

    kind: str
    device: str
    at: float
    end: float | None = None
    person: str = ""
    household: str = ""


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
    buildings: tuple[st.Building, ...] = field(default=(), repr=False)  # local metres
    origin: str = "generated"  # or the file the streets came from
    start: float | None = None  # unix time the anomalies count from (None: the first poll)

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
        """Streets as GeoJSON LineStrings, for the planners' maps."""
        feats = [{"type": "Feature", "properties": {"kind": "street"},
                  "geometry": {"type": "LineString",
                               "coordinates": [[a[1], a[0]], [b[1], b[0]]]}}
                 for a, b in self.streets]
        return {"type": "FeatureCollection", "features": feats}

    def buildings_geojson(self) -> dict:
        """Building footprints (Polygons with height_m): what casts the sim's shade."""
        feats: list[dict[str, Any]] = []
        for i, b in enumerate(self.buildings):
            ring = [_offset(self.center, p[0], p[1]) for p in b.footprint]
            ring.append(ring[0])
            feats.append({"type": "Feature", "id": f"sim:building-{i + 1:04d}",
                          "properties": {"kind": "building", "height_m": round(b.height_m, 1)},
                          "geometry": {"type": "Polygon",
                                       "coordinates": [[[q[1], q[0]] for q in ring]]}})
        return {"type": "FeatureCollection", "features": feats}


def _offset(center: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat = center[0] + north_m / M_PER_DEG_LAT
    lon = center[1] + east_m / (M_PER_DEG_LAT * math.cos(math.radians(center[0])))
    return round(lat, 6), round(lon, 6)


def to_local(center: tuple[float, float], lat: float, lon: float) -> st.Point:
    return ((lat - center[0]) * M_PER_DEG_LAT,
            (lon - center[1]) * M_PER_DEG_LAT * math.cos(math.radians(center[0])))


def town_for(sim: Any) -> Town:
    """The town a gateway configuration's [sim] section describes (every gateway alike)."""
    town = build_town(sim.town_seed, gateways=sim.gateways, nodes=sim.nodes,
                      residents=sim.residents, households=sim.households,
                      town_file=getattr(sim, "town_file", None) or None,
                      sim_start=sim.sim_start or None)
    return replace(town, start=sim.sim_start or None)


def build_town(seed: int = 1, gateways: int = 3, nodes: int = 30, residents: int = 20,
               households: int = 20, center: tuple[float, float] = DEFAULT_CENTER,
               size_m: float = 1200.0,
               town_file: str | Path | list[str] | list[Path] | None = None,
               sim_start: float | None = None) -> Town:
    """The town of `seed`; `sim_start` (unix time the simulation starts) adds the incidents only a
    start before dawn shows (sim/life.py)."""
    rng = np.random.default_rng(seed)
    half = size_m / 2
    origin = "generated"
    if town_file is not None:
        from .osm import read_town_file

        geo = read_town_file(town_file)
        center, half = geo.center, geo.half_m
        segs, blds = geo.streets, geo.buildings
        origin = str(town_file)
    else:
        segs = st.organic_streets(rng, half)
        blds = st.buildings_along(rng, segs)
    gws = tuple(Gateway(f"gw-{i + 1:02d}", *_offset(
        center, half * 0.5 * math.sin(2 * math.pi * i / gateways),
        half * 0.5 * math.cos(2 * math.pi * i / gateways))) for i in range(gateways))

    def nearest(lat: float, lon: float) -> str:
        return min(gws, key=lambda g: (g.lat - lat) ** 2 + (g.lon - lon) ** 2).id

    lengths = np.array([math.dist(a, b) for a, b in segs])
    surfaces = ("asphalt", "asphalt", "concrete", "grass")
    node_list = []
    placed: list[st.Point] = []
    for i in range(nodes):
        for _ in range(100):  # keep nodes 40 m apart, so each has its own spot on a map
            p, _bearing = st.point_on_streets(rng, segs, lengths)
            if all(math.dist(p, q) >= 40.0 for q in placed) and not st.inside_any(p, blds):
                break
        placed.append(p)
        lat, lon = _offset(center, *p)
        addr = "F0:" + ":".join(f"{b:02X}" for b in rng.integers(0, 256, 5))
        tree = float(rng.choice([0.0, 0.0, 0.3, 0.7]))
        hz = st.horizon(p, blds)
        node_list.append(HeatNode(
            id=f"heat-{i + 1:03d}", address=addr, gw=nearest(lat, lon), lat=lat, lon=lon,
            surface=surfaces[i % len(surfaces)], horizon=hz, tree_shade=tree,
            uhi_c=float(rng.normal(0.6, 0.5)), has_globe=(i % 5 == 0),
            name=f"街区{i + 1:02d}", sky_view=round(st.sky_view(hz, tree), 3)))
    hh_list = []
    for i in range(households):
        p, _ = st.point_on_streets(rng, segs, lengths, offset_m=15.0)
        lat, lon = _offset(center, *p)
        hh_list.append(Household(
            id=f"meter-{i + 1:03d}", gw=nearest(lat, lon), lat=lat, lon=lon,
            base_w=float(rng.uniform(80, 250)), morning_w=float(rng.uniform(300, 1200)),
            evening_w=float(rng.uniform(400, 1500)), pulses_per_kwh=1000.0))
    res_list = []
    gw_ids = [g.id for g in gws]
    for i in range(residents):
        hh = hh_list[i % len(hh_list)]
        start = float(rng.uniform(9, 15))
        routine = ("home", "home", "daycare", "work")[i % 4]
        days: tuple[int, ...] = ()
        if routine == "daycare":
            days = tuple(sorted(int(d) for d in rng.choice(5, 2, replace=False)))
        others = [g for g in gw_ids if g != hh.gw]
        visit = others[int(rng.integers(0, len(others)))] if others and i % 3 == 0 else None
        res_list.append(Resident(
            id=f"tag-{i + 1:03d}", person=f"person-{i + 1:03d}", household=hh.id, gw=hh.gw,
            key=bytes(rng.integers(0, 256, 16, dtype=np.uint8)), out_from_h=start,
            out_to_h=start + float(rng.uniform(0.5, 2.0)), routine=routine,
            daycare_days=days, visit_gw=visit,
            visit_day=int(rng.integers(0, 7)) if visit else -1))
    from .life import schedule_anomalies

    town = Town(seed, center, gws, tuple(node_list), tuple(hh_list), tuple(res_list), (),
                tuple((_offset(center, *a), _offset(center, *b)) for a, b in segs),
                tuple(blds), origin)
    return Town(seed, center, gws, town.nodes, town.households, town.residents,
                schedule_anomalies(town, np.random.default_rng((seed, 7)), sim_start),
                town.streets,
                town.buildings, origin)


def sim_epoch(date: str = "2026-08-03T09:00:00") -> float:
    """Unix time of a local (JST) timestamp: the default demo starts on a hot August morning."""
    return dt.datetime.fromisoformat(date).replace(tzinfo=JST).timestamp()


def local_hours(t: float) -> float:
    return ((t + 9 * 3600) % DAY) / 3600.0


def weekday(t: float) -> int:
    """Mon=0 … Sun=6, in JST."""
    return int(((t + 9 * 3600) // DAY + 3) % 7)  # 1970-01-01 was a Thursday


def weather(town: Town, t: float) -> Any:
    """The town's weather at t (sim/places.py; kept here for older callers)."""
    from .places import weather as w

    return w(town, t)


def node_in_shade(node: HeatNode, w: Any) -> bool:
    """Whether the sun is hidden at the node (sim/places.py; kept here for older callers)."""
    from .places import node_in_shade as f

    return f(node, w)
