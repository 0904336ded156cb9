"""A town's heat exposure on its streets: the graph, the buildings' height raster, the sunlit
fraction of every edge per hour (cached), WBGT near each edge, and the cool-route plan
(`{"shortest": R, "cool": R}`) that the CLI and the API both print.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .graph import StreetGraph, build_graph
from .model import Building, Street
from .route import MODES, Route, RouteError, edge_costs, find_route, heat_weight
from .shade import MARGIN_M, HeightGrid, edge_shade, height_grid
from .sun import sun_position

MAX_GRID_CELLS = 16_000_000  # coarser raster cells beyond this (memory: 4 bytes a cell)
HOUR_CACHE = 48


@dataclass(frozen=True)
class SunState:
    elevation: float
    azimuth: float


class StreetExposure:
    """Streets + buildings of one town, ready for shade and routes."""

    def __init__(self, streets: tuple[Street, ...] | list[Street],
                 buildings: tuple[Building, ...] | list[Building] = ()):
        self.graph: StreetGraph = build_graph(streets)
        g = self.graph
        lo = g.sample_xy.min(axis=0) - MARGIN_M
        hi = g.sample_xy.max(axis=0) + MARGIN_M
        area = float((hi[0] - lo[0]) * (hi[1] - lo[1]))
        cell = max(1.0, math.ceil(math.sqrt(area / MAX_GRID_CELLS)))
        self.grid: HeightGrid = height_grid(buildings, g.frame, (lo[0], lo[1], hi[0], hi[1]),
                                            cell=cell)
        self.buildings = len(buildings)
        lat0, lon0 = g.frame.lat0, g.frame.lon0
        self.centre = (lat0, lon0)
        self._hours: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # web servers ask from several threads

    def sun(self, at: float) -> SunState:
        e, a = sun_position(at, *self.centre)
        return SunState(float(e), float(a))

    def sunlit(self, at: float) -> np.ndarray:
        """Fraction of each edge in the sun at the middle of `at`'s hour (cached per hour)."""
        hour = int(at // 3600)
        with self._lock:
            if hour in self._hours:
                self._hours.move_to_end(hour)
                return self._hours[hour]
            s = self.sun(hour * 3600 + 1800)
            g = self.graph
            shade = edge_shade(g.sample_xy, g.sample_edge, g.sample_w, g.edges, self.grid,
                               s.elevation, s.azimuth)
            frac = 1.0 - shade
            frac.flags.writeable = False  # shared between requests
            self._hours[hour] = frac
            if len(self._hours) > HOUR_CACHE:
                self._hours.popitem(last=False)
            return frac

    def point_sunlit(self, lat: np.ndarray, lon: np.ndarray, at: float) -> np.ndarray:
        """Per point: in the sun at `at` (not in a building's shadow, sun above the horizon)."""
        from .shade import shaded

        x, y = self.graph.frame.to_xy(np.asarray(lat, dtype=np.float64),
                                      np.asarray(lon, dtype=np.float64))
        s = self.sun(at)
        return ~shaded(self.grid, np.atleast_1d(x), np.atleast_1d(y), s.elevation, s.azimuth)

    def edge_midpoints(self) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) of each edge's middle sample, for WBGT near the edge."""
        g = self.graph
        mid = np.array([p[len(p) // 2] if len(p) > 2 else p.mean(axis=0) for p in g.edge_xy])
        lat, lon = g.frame.to_latlon(mid[:, 0], mid[:, 1])
        return np.asarray(lat), np.asarray(lon)

    def wbgt_near_edges(self, lat: np.ndarray, lon: np.ndarray, wbgt: np.ndarray,
                        radius_m: float = 500.0) -> np.ndarray | None:
        """Inverse-distance-weighted WBGT of the readings within radius_m of each edge's
        middle (NaN where none); None without readings."""
        if len(wbgt) == 0:
            return None
        g = self.graph
        ex, ey = g.frame.to_xy(*self.edge_midpoints())
        px, py = g.frame.to_xy(np.asarray(lat, dtype=np.float64),
                               np.asarray(lon, dtype=np.float64))
        d = np.hypot(np.asarray(ex)[:, None] - px[None, :], np.asarray(ey)[:, None] - py[None, :])
        w = np.where(d <= radius_m, 1.0 / np.maximum(d, 10.0) ** 2, 0.0)
        total = w.sum(axis=1)
        val = (w * np.asarray(wbgt, dtype=np.float64)[None, :]).sum(axis=1)
        return np.divide(val, total, out=np.full(len(total), np.nan), where=total > 0)

    def plan(self, start: tuple[float, float], end: tuple[float, float], at: float,
             mode: str = "balanced", wbgt: np.ndarray | None = None) -> dict[str, Any]:
        """The shortest route and the route of `mode`, each with its metres in the sun."""
        if mode not in MODES:
            raise RouteError(f"mode must be one of {', '.join(MODES)}")
        sun = self.sunlit(at)
        heat = heat_weight(wbgt, self.graph.edges)
        shortest = find_route(self.graph, start, end,
                              edge_costs(self.graph, sun, heat, "shortest"), sun)
        cool: Route = shortest if mode == "shortest" else find_route(
            self.graph, start, end, edge_costs(self.graph, sun, heat, mode), sun)
        s = self.sun(at)
        return {"shortest": shortest.as_json(), "cool": cool.as_json(), "mode": mode,
                "at": at, "sun": {"elevation": round(s.elevation, 2),
                                  "azimuth": round(s.azimuth, 2)},
                "difference": {"length_m": round(cool.length_m - shortest.length_m, 1),
                               "sun_m": round(cool.sun_m - shortest.sun_m, 1)}}
