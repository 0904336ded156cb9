"""Shade from buildings: which points of the street lie in a building's shadow for a sun position.

Buildings are drawn into a height raster (flat roofs at their height). A point is shaded when,
walking from it towards the sun, some cell of the raster stands higher than the sun's ray at
that distance: H(p + t·d) > t·tan(elevation). The march runs in raster steps up to the distance
the tallest building can cast a shadow (at most MAX_SHADOW_M), for all sample points at once.
With the sun below the horizon everything is in shade (nothing is sunlit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .frame import LocalFrame
from .model import Building

CELL_M = 1.0  # raster resolution
MAX_SHADOW_M = 300.0  # longer shadows (sun below ~5° behind a 30 m block) are not followed
MARGIN_M = 60.0


@dataclass(frozen=True)
class HeightGrid:
    """Building heights on a raster in a local frame: cell (i, j) covers
    x in [x0 + j·cell, x0 + (j+1)·cell), y in [y0 + i·cell, ...)."""

    x0: float
    y0: float
    cell: float
    heights: np.ndarray  # (rows, cols) float32, 0 where no building
    max_height: float

    def lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        j = np.floor((x - self.x0) / self.cell).astype(np.int64)
        i = np.floor((y - self.y0) / self.cell).astype(np.int64)
        rows, cols = self.heights.shape
        inside = (i >= 0) & (i < rows) & (j >= 0) & (j < cols)
        out = np.zeros(np.shape(x), dtype=np.float32)
        out[inside] = self.heights[i[inside], j[inside]]
        return out


def height_grid(buildings: tuple[Building, ...] | list[Building], frame: LocalFrame,
                bounds: tuple[float, float, float, float] | None = None,
                cell: float = CELL_M) -> HeightGrid:
    """Rasterise footprints (even-odd rule on cell centres); overlapping parts keep the highest.
    `bounds` = (xmin, ymin, xmax, ymax) metres limits the raster (buildings outside are skipped)."""
    polys = []
    for b in buildings:
        lat = np.array([p[0] for p in b.footprint])
        lon = np.array([p[1] for p in b.footprint])
        x, y = frame.to_xy(lat, lon)
        polys.append((np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64),
                      float(b.height_m)))
    if bounds is None:
        if not polys:
            return HeightGrid(0.0, 0.0, cell, np.zeros((1, 1), np.float32), 0.0)
        bounds = (min(p[0].min() for p in polys), min(p[1].min() for p in polys),
                  max(p[0].max() for p in polys), max(p[1].max() for p in polys))
    xmin, ymin, xmax, ymax = bounds
    x0, y0 = math.floor(xmin / cell) * cell, math.floor(ymin / cell) * cell
    cols = max(1, math.ceil((xmax - x0) / cell) + 1)
    rows = max(1, math.ceil((ymax - y0) / cell) + 1)
    heights = np.zeros((rows, cols), dtype=np.float32)
    for x, y, h in polys:
        j0 = max(0, math.floor((x.min() - x0) / cell))
        j1 = min(cols, math.ceil((x.max() - x0) / cell) + 1)
        i0 = max(0, math.floor((y.min() - y0) / cell))
        i1 = min(rows, math.ceil((y.max() - y0) / cell) + 1)
        if j0 >= j1 or i0 >= i1:
            continue
        cx = x0 + (np.arange(j0, j1) + 0.5) * cell
        cy = y0 + (np.arange(i0, i1) + 0.5) * cell
        px, py = np.meshgrid(cx, cy)
        inside = _inside(px, py, x, y)
        block = heights[i0:i1, j0:j1]
        np.maximum(block, np.where(inside, np.float32(h), np.float32(0)), out=block)
    return HeightGrid(x0, y0, cell, heights, float(heights.max(initial=0.0)))


def _inside(px: np.ndarray, py: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon for arrays of points against one ring."""
    inside = np.zeros(px.shape, dtype=bool)
    n = len(x)
    for k in range(n):
        xa, ya, xb, yb = x[k], y[k], x[(k + 1) % n], y[(k + 1) % n]
        if ya == yb:
            continue
        crosses = (ya > py) != (yb > py)
        xs = xa + (py - ya) * (xb - xa) / (yb - ya)
        inside ^= crosses & (px < xs)
    return inside


def shaded(grid: HeightGrid, x: np.ndarray, y: np.ndarray, elev_deg: float,
           az_deg: float) -> np.ndarray:
    """Boolean per point: in a building's shadow (or the sun is down)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if elev_deg <= 0:
        return np.ones(x.shape, dtype=bool)
    out = grid.lookup(x, y) > 0  # inside a building: no sun on the street there
    if grid.max_height <= 0:
        return out
    tan_e = math.tan(math.radians(elev_deg))
    reach = min(MAX_SHADOW_M, grid.max_height / tan_e)
    dx, dy = math.sin(math.radians(az_deg)), math.cos(math.radians(az_deg))
    step = grid.cell * 0.7  # below one cell: a thin wall is not stepped over
    rows, cols = grid.heights.shape
    fx = (x - grid.x0) / grid.cell
    fy = (y - grid.y0) / grid.cell
    todo = np.flatnonzero(~out)
    t = step
    while t <= reach and todo.size:
        j = np.floor(fx[todo] + t * dx / grid.cell).astype(np.int64)
        i = np.floor(fy[todo] + t * dy / grid.cell).astype(np.int64)
        ok = (i >= 0) & (i < rows) & (j >= 0) & (j < cols)
        h = np.zeros(todo.size, dtype=np.float32)
        h[ok] = grid.heights[i[ok], j[ok]]
        hit = h > t * tan_e
        if hit.any():
            out[todo[hit]] = True
            todo = todo[~hit]
        t += step
    return out


def edge_shade(samples_xy: np.ndarray, sample_edge: np.ndarray, sample_w: np.ndarray,
               edges: int, grid: HeightGrid, elev_deg: float, az_deg: float) -> np.ndarray:
    """Fraction of each edge's length in shade, from its samples."""
    s = shaded(grid, samples_xy[:, 0], samples_xy[:, 1], elev_deg, az_deg)
    shade_len = np.bincount(sample_edge, weights=sample_w * s, minlength=edges)
    total = np.bincount(sample_edge, weights=sample_w, minlength=edges)
    return np.divide(shade_len, total, out=np.ones(edges), where=total > 0)
