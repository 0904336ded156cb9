"""Street networks in local metres: a generated organic town, and how grid-like a network is.

Coordinates are (north_m, east_m) from the town's centre; sim/town.py turns them into lat/lon.
The generated pattern grows the way old Japanese towns did: a few meandering roads out of the
centre, irregular ring roads, and lanes branching off at odd angles — not a square grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]  # (north_m, east_m)
Segment = tuple[Point, Point]


@dataclass(frozen=True)
class Building:
    footprint: tuple[Point, ...]  # closed ring, metres
    height_m: float


def _walk(rng: np.random.Generator, start: Point, bearing: float, length: float,
          step: float = 40.0, wiggle_deg: float = 9.0) -> list[Point]:
    pts = [start]
    n, e = start
    for _ in range(max(1, int(length / step))):
        bearing += math.radians(float(rng.normal(0, wiggle_deg)))
        n += step * math.cos(bearing)
        e += step * math.sin(bearing)
        pts.append((n, e))
    return pts


def _segments(line: list[Point]) -> list[Segment]:
    return [(line[i], line[i + 1]) for i in range(len(line) - 1)]


def organic_streets(rng: np.random.Generator, half: float) -> list[Segment]:
    """Radial roads that meander, wobbly rings, and lanes off both; clipped to the square."""
    segs: list[Segment] = []
    n_radial = 6
    base = float(rng.uniform(0, 2 * math.pi))
    for i in range(n_radial):
        b = base + 2 * math.pi * i / n_radial + float(rng.normal(0, 0.25))
        segs += _segments(_walk(rng, (0.0, 0.0), b, half * 1.3))
    for radius in (half * 0.35, half * 0.75):
        phase = float(rng.uniform(0, 2 * math.pi))
        ring = []
        for k in range(37):
            th = 2 * math.pi * k / 36
            r = radius * (1 + 0.12 * math.sin(3 * th + phase) + 0.05 * math.sin(5 * th))
            ring.append((r * math.cos(th), r * math.sin(th)))
        segs += _segments(ring)
    for _ in range(45):
        pa, pb = segs[int(rng.integers(0, len(segs)))]
        f = float(rng.uniform(0, 1))
        start = (pa[0] + f * (pb[0] - pa[0]), pa[1] + f * (pb[1] - pa[1]))
        road = math.atan2(pb[1] - pa[1], pb[0] - pa[0])
        turn = math.pi / 2 * (1 if rng.random() < 0.5 else -1) + float(rng.normal(0, 0.5))
        segs += _segments(_walk(rng, start, road + turn, float(rng.uniform(80, 260)), step=30.0,
                                wiggle_deg=14.0))
    return [s for s in segs if all(abs(c) <= half for p in s for c in p)]


def buildings_along(rng: np.random.Generator, streets: list[Segment],
                    per_segment: float = 1.2) -> list[Building]:
    """Boxes set back from the streets on both sides, 1–10 storeys (taller near the centre)."""
    out: list[Building] = []
    for (a, b) in streets:
        length = math.dist(a, b)
        if length < 5:
            continue
        u = ((b[0] - a[0]) / length, (b[1] - a[1]) / length)
        v = (-u[1], u[0])
        for _ in range(int(rng.poisson(per_segment * length / 40))):
            f = float(rng.uniform(0.1, 0.9))
            side = 1 if rng.random() < 0.5 else -1
            set_back = float(rng.uniform(7, 12))
            w, d = float(rng.uniform(8, 18)), float(rng.uniform(8, 16))
            c = (a[0] + f * length * u[0] + side * (set_back + d / 2) * v[0],
                 a[1] + f * length * u[1] + side * (set_back + d / 2) * v[1])
            corners = tuple((c[0] + su * w / 2 * u[0] + sv * d / 2 * v[0],
                             c[1] + su * w / 2 * u[1] + sv * d / 2 * v[1])
                            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)))
            centre = math.hypot(*c)
            storeys = 1 + int(rng.exponential(2.5 if centre < 300 else 1.2))
            out.append(Building(corners, min(40.0, 3.2 * storeys + 1.0)))
    return out


def orientation_order(segments: list[Segment]) -> float:
    """Boeing's (2019) orientation order φ: 1 for a perfect grid, 0 for uniform bearings.

    Length-weighted bearings in 36 bins of 10°, each street counted both ways;
    φ = 1 − ((H − ln 4) / (ln 36 − ln 4))² with H the Shannon entropy of the bins.
    """
    hist = np.zeros(36)
    for a, b in segments:
        length = math.dist(a, b)
        if length == 0:
            continue
        bearing = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) % 360
        for x in (bearing, (bearing + 180) % 360):
            hist[int(((x + 5) % 360) // 10)] += length
    p = hist[hist > 0] / hist.sum()
    h = float(-(p * np.log(p)).sum())
    return 1 - ((h - math.log(4)) / (math.log(36) - math.log(4))) ** 2


def point_on_streets(rng: np.random.Generator, streets: list[Segment],
                     lengths: np.ndarray, offset_m: float = 3.0) -> tuple[Point, float]:
    """A random spot beside a street (a lamp post on the pavement) and the street's bearing."""
    i = int(rng.choice(len(streets), p=lengths / lengths.sum()))
    a, b = streets[i]
    f = float(rng.uniform(0.05, 0.95))
    length = max(1e-9, math.dist(a, b))
    v = (-(b[1] - a[1]) / length, (b[0] - a[0]) / length)
    side = offset_m if rng.random() < 0.5 else -offset_m
    p = (a[0] + f * (b[0] - a[0]) + side * v[0], a[1] + f * (b[1] - a[1]) + side * v[1])
    return p, math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) % 360


def horizon(at: Point, buildings: list[Building], eye_m: float = 1.5,
            radius_m: float = 250.0) -> tuple[float, ...]:
    """Elevation (degrees) of the building skyline in 36 azimuth bins of 10° from north.

    Three rays per bin are cast from the spot; where a ray first crosses a wall, the roof's
    angle above the eye is atan(rise / distance); a bin keeps the highest of its rays.
    """
    edges, rises = [], []
    for bld in buildings:
        rise = bld.height_m - eye_m
        ring = bld.footprint
        if rise <= 0 or min(math.dist(at, p) for p in ring) > radius_m:
            continue
        if _inside(at, ring):
            return tuple([90.0] * 36)
        for i in range(len(ring)):
            edges.append((ring[i], ring[(i + 1) % len(ring)]))
            rises.append(rise)
    if not edges:
        return tuple([0.0] * 36)
    e = np.array(edges, dtype=float) - np.array(at)  # (E, 2 ends, (n, e))
    p, s = e[:, 0, :], e[:, 1, :] - e[:, 0, :]
    az = np.radians(np.arange(108) * (10.0 / 3) + 10.0 / 6)  # 3 rays per 10° bin
    d = np.stack([np.cos(az), np.sin(az)], axis=1)  # (R, 2)
    denom = d[:, None, 0] * s[None, :, 1] - d[:, None, 1] * s[None, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (p[None, :, 0] * s[None, :, 1] - p[None, :, 1] * s[None, :, 0]) / denom
        u = (p[None, :, 0] * d[:, None, 1] - p[None, :, 1] * d[:, None, 0]) / denom
    hit = (np.abs(denom) > 1e-12) & (t > 0) & (u >= 0) & (u <= 1)
    elev = np.where(hit, np.degrees(np.arctan2(np.array(rises)[None, :], np.maximum(t, 0.5))),
                    0.0)
    per_ray = elev.max(axis=1)
    return tuple(round(float(x), 1) for x in per_ray.reshape(36, 3).max(axis=1))


def inside_any(p: Point, buildings: list[Building]) -> bool:
    return any(_inside(p, b.footprint) for b in buildings
               if math.dist(p, b.footprint[0]) < 100)


def _inside(p: Point, ring: tuple[Point, ...]) -> bool:
    inside = False
    n = len(ring)
    for i in range(n):
        (y1, x1), (y2, x2) = ring[i], ring[(i + 1) % n]
        if (y1 > p[0]) != (y2 > p[0]):
            x = x1 + (p[0] - y1) * (x2 - x1) / (y2 - y1)
            if p[1] < x:
                inside = not inside
    return inside


def sky_view(h: tuple[float, ...], tree: float) -> float:
    """Sky-view factor of the horizon profile (cos² of the skyline per bin), less tree cover."""
    svf = sum(math.cos(math.radians(e)) ** 2 for e in h) / len(h)
    return svf * (1 - 0.6 * tree)
