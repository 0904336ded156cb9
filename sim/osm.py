"""A real town from files: streets and buildings read by machimori.geo (OSM XML, GeoJSON,
PLATEAU CityGML), turned into the sim's local metres around the files' centre.

Several files can be combined (streets from OSM, buildings from PLATEAU). A file set with
buildings but no streets gets generated streets over the buildings' extent, so nodes still
stand outdoors (never inside a footprint).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from machimori.geo import read_map

from . import streets as st

M_PER_DEG_LAT = 111_320.0
MAX_HALF_M = 5_000.0  # a gateway area is a neighbourhood: larger files are cut to 10 km


@dataclass(frozen=True)
class TownGeo:
    center: tuple[float, float]
    half_m: float
    streets: list[st.Segment]
    buildings: list[st.Building]


def _local(center: tuple[float, float], lat: float, lon: float) -> st.Point:
    return ((lat - center[0]) * M_PER_DEG_LAT,
            (lon - center[1]) * M_PER_DEG_LAT * math.cos(math.radians(center[0])))


def read_town_file(paths: Path | str | Sequence[Path | str]) -> TownGeo:
    """Streets and buildings from one file or several (a comma-separated string works too)."""
    if isinstance(paths, (str, Path)):
        paths = [p for p in str(paths).split(",") if p]
    maps = []
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(f"{p}: no such file")
        maps.append(read_map(str(p)))
    pts = [q for m in maps for s in m.streets for q in s.points]
    pts += [q for m in maps for b in m.buildings for q in b.footprint]
    if not pts:
        raise ValueError(f"{', '.join(map(str, paths))}: no streets or buildings in the file")
    a = np.array(pts)
    lo, hi = a.min(axis=0), a.max(axis=0)
    center = (round(float(lo[0] + hi[0]) / 2, 6), round(float(lo[1] + hi[1]) / 2, 6))
    ext = [_local(center, float(hi[0]), float(hi[1]))]
    half = min(MAX_HALF_M, max(100.0, max(abs(ext[0][0]), abs(ext[0][1]))))
    segs: list[st.Segment] = []
    for m in maps:
        for s in m.streets:
            loc = [_local(center, *q) for q in s.points]
            segs += [(loc[i], loc[i + 1]) for i in range(len(loc) - 1)
                     if math.dist(loc[i], loc[i + 1]) > 0.5
                     and all(abs(c) <= half for c in (*loc[i], *loc[i + 1]))]
    blds = [st.Building(tuple(_local(center, *q) for q in b.footprint), float(b.height_m))
            for m in maps for b in m.buildings if len(b.footprint) >= 3]
    if not segs:
        segs = st.organic_streets(np.random.default_rng(0), half)
    return TownGeo(center, half, segs, blds)
