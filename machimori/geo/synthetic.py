"""Made-up geography with known answers: a building that shades a point from one direction (the
sim's heat nodes), and a street grid with blocks of buildings (benchmarks, tests)."""

from __future__ import annotations

import math

import numpy as np

from .frame import LocalFrame
from .model import Building, MapData, Street


def obstruction_building(bid: str, lat: float, lon: float, az_deg: float, elev_deg: float,
                         distance_m: float = 6.0, depth_m: float = 12.0) -> Building:
    """A block whose near face stands distance_m from (lat, lon) towards az_deg, wide enough to
    cover ±45° of azimuth and tall enough to reach elev_deg above the horizon straight ahead:
    the sim's rule for a node's shade (sun within 45° of the obstruction, below its elevation)."""
    f = LocalFrame(lat, lon)
    ux, uy = math.sin(math.radians(az_deg)), math.cos(math.radians(az_deg))
    vx, vy = uy, -ux  # across the direction
    half = distance_m  # tan(45°) · distance
    corners = []
    for along, across in ((distance_m, -half), (distance_m, half),
                          (distance_m + depth_m, half), (distance_m + depth_m, -half)):
        x, y = along * ux + across * vx, along * uy + across * vy
        la, lo = f.to_latlon(x, y)
        corners.append((float(la), float(lo)))
    height = distance_m * math.tan(math.radians(min(elev_deg, 85.0)))
    return Building(bid, tuple(corners), round(height, 2), "measured")


def grid_town(nx: int, ny: int, spacing_m: float = 80.0, centre: tuple[float, float] = (
        35.68, 139.77), seed: int = 1, buildings_per_block: int = 4,
              jitter_m: float = 8.0) -> MapData:
    """nx × ny intersections joined by streets with a bent middle vertex (so edges are
    polylines), and blocks of buildings 6–40 m tall between them."""
    rng = np.random.default_rng(seed)
    f = LocalFrame(*centre)
    xs = (np.arange(nx) - (nx - 1) / 2) * spacing_m
    ys = (np.arange(ny) - (ny - 1) / 2) * spacing_m
    px = xs[None, :] + rng.uniform(-jitter_m, jitter_m, (ny, nx))
    py = ys[:, None] + rng.uniform(-jitter_m, jitter_m, (ny, nx))

    def ll(x: float, y: float) -> tuple[float, float]:
        la, lo = f.to_latlon(x, y)
        return float(la), float(lo)

    streets = []
    for i in range(ny):
        for j in range(nx):
            for di, dj in ((0, 1), (1, 0)):
                i2, j2 = i + di, j + dj
                if i2 >= ny or j2 >= nx:
                    continue
                mx = (px[i, j] + px[i2, j2]) / 2 + rng.uniform(-2, 2)
                my = (py[i, j] + py[i2, j2]) / 2 + rng.uniform(-2, 2)
                streets.append(Street(f"s{i}-{j}-{di}", (ll(px[i, j], py[i, j]), ll(mx, my),
                                                        ll(px[i2, j2], py[i2, j2])),
                                      (f"n{i}-{j}", f"m{i}-{j}-{di}", f"n{i2}-{j2}")))
    blds = []
    size = spacing_m / 2 - 12
    for i in range(ny - 1):
        for j in range(nx - 1):
            cx, cy = (xs[j] + xs[j + 1]) / 2, (ys[i] + ys[i + 1]) / 2
            for k in range(buildings_per_block):
                ox = cx + (k % 2 - 0.5) * spacing_m / 2
                oy = cy + (k // 2 % 2 - 0.5) * spacing_m / 2
                w = size * rng.uniform(0.5, 0.95)
                ring = tuple(ll(ox + a * w / 2, oy + b * w / 2)
                             for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)))
                blds.append(Building(f"b{i}-{j}-{k}", ring,
                                     round(float(rng.choice([6, 9, 12, 20, 40])), 1), "measured"))
    return MapData(tuple(streets), tuple(blds), {})
