"""Walking routes over a StreetGraph, weighted by heat exposure.

An edge costs its length × (1 + k · sun · heat): `sun` is the fraction of the edge in the sun at
that moment (shade.py), `heat` a weight from the WBGT near it (1 at 28 °C, the 厳重警戒 bound;
more when hotter, less when cooler) and k the mode's appetite for shade: shortest 0, balanced 1,
coolest 4 (a sunny street in 厳重警戒 heat then counts as five times its length). A* search
with the straight-line distance × the cheapest cost per metre, which never overestimates.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .graph import StreetGraph

MODES = {"shortest": 0.0, "balanced": 1.0, "coolest": 4.0}
MAX_SNAP_M = 1000.0  # a start or end further than this from every street is refused


class RouteError(ValueError):
    pass


def heat_weight(wbgt_c: np.ndarray | None, edges: int) -> np.ndarray:
    """Per-edge weight from the WBGT near each edge: 1 at 28 °C, +0.25 per °C, in [0.25, 2.5];
    1 where unknown (NaN or no data)."""
    if wbgt_c is None:
        return np.ones(edges)
    w = np.clip(1.0 + (np.asarray(wbgt_c, dtype=np.float64) - 28.0) * 0.25, 0.25, 2.5)
    return np.where(np.isfinite(w), w, 1.0)


def edge_costs(graph: StreetGraph, sun: np.ndarray, heat: np.ndarray, mode: str) -> np.ndarray:
    if mode not in MODES:
        raise RouteError(f"mode must be one of {', '.join(MODES)}")
    return graph.edge_len * (1.0 + MODES[mode] * np.clip(sun, 0, 1) * heat)


@dataclass(frozen=True)
class Snap:
    edge: int
    offset_m: float  # along the edge from its first node
    xy: tuple[float, float]  # the nearest point on the street
    distance_m: float  # from the asked point to the street


def snap(graph: StreetGraph, x: float, y: float) -> Snap:
    a, b = graph.seg_a, graph.seg_b
    d = b - a
    ll = np.einsum("ij,ij->i", d, d)
    t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1])
                / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
    px, py = a[:, 0] + t * d[:, 0], a[:, 1] + t * d[:, 1]
    dist2 = (px - x) ** 2 + (py - y) ** 2
    k = int(np.argmin(dist2))
    return Snap(int(graph.seg_edge[k]), float(graph.seg_off[k] + t[k] * math.sqrt(ll[k])),
                (float(px[k]), float(py[k])), float(math.sqrt(dist2[k])))


@dataclass(frozen=True)
class Route:
    length_m: float
    sun_m: float
    points: tuple[tuple[float, float], ...]  # (lat, lon) from the start to the end point
    cost: float

    def as_json(self) -> dict[str, Any]:
        return {"length_m": round(self.length_m, 1), "sun_m": round(self.sun_m, 1),
                "geometry": {"type": "LineString", "coordinates": [
                    [round(lon, 7), round(lat, 7)] for lat, lon in self.points]}}


def _cut(pts: np.ndarray, a: float, b: float) -> np.ndarray:
    """The part of a polyline between distances a and b along it (reversed when a > b)."""
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    lo, hi = min(a, b), max(a, b)
    inner = pts[(cum > lo) & (cum < hi)]
    start = [np.interp(lo, cum, pts[:, 0]), np.interp(lo, cum, pts[:, 1])]
    end = [np.interp(hi, cum, pts[:, 0]), np.interp(hi, cum, pts[:, 1])]
    out = np.vstack([start, inner, end]) if len(inner) else np.array([start, end])
    return out[::-1] if a > b else out


def find_route(graph: StreetGraph, start: tuple[float, float], end: tuple[float, float],
               cost: np.ndarray, sun: np.ndarray) -> Route:
    """The cheapest route under `cost` (per edge) from start to end (lat, lon); `sun` is the
    sunlit fraction per edge, for the route's metres in the sun."""
    fr = graph.frame
    sx, sy = (float(v) for v in fr.to_xy(start[0], start[1]))
    ex, ey = (float(v) for v in fr.to_xy(end[0], end[1]))
    s, e = snap(graph, sx, sy), snap(graph, ex, ey)
    for name, sn in (("start", s), ("end", e)):
        if sn.distance_m > MAX_SNAP_M:
            raise RouteError(f"the {name} is {sn.distance_m:.0f} m from the nearest street")
    n = graph.nodes
    src, dst = n, n + 1  # virtual nodes at the snapped points
    cost_l = cost.tolist()
    lens, eu, ev, nx, ny = graph.lists()
    rate = cost / np.maximum(graph.edge_len, 1e-9)
    min_rate = float(rate.min())
    per_m = {s.edge: float(rate[s.edge]), e.edge: float(rate[e.edge])}
    tx, ty = e.xy
    inf = math.inf
    best = [inf] * (n + 2)
    prev_node = [-1] * (n + 2)
    prev_edge = [-1] * (n + 2)
    heap: list[tuple[float, float, int]] = []
    hypot, heappush, heappop = math.hypot, heapq.heappush, heapq.heappop

    def push(node: int, g: float, frm: int, edge: int) -> None:
        if g < best[node]:
            best[node] = g
            prev_node[node], prev_edge[node] = frm, edge
            hx, hy = (tx, ty) if node == dst else (nx[node], ny[node])
            heappush(heap, (g + min_rate * hypot(hx - tx, hy - ty), g, node))

    se, ee = s.edge, e.edge
    best[src] = 0.0
    push(eu[se], per_m[se] * s.offset_m, src, se)
    push(ev[se], per_m[se] * (lens[se] - s.offset_m), src, se)
    if se == ee:
        push(dst, per_m[se] * abs(e.offset_m - s.offset_m), src, se)
    end_u, end_v = eu[ee], ev[ee]
    adj = graph.adj
    while heap:
        _, g, node = heappop(heap)
        if g > best[node]:
            continue
        if node == dst:
            break
        if node == end_u:
            push(dst, g + per_m[ee] * e.offset_m, node, ee)
        if node == end_v:
            push(dst, g + per_m[ee] * (lens[ee] - e.offset_m), node, ee)
        for other, edge in adj[node]:
            ng = g + cost_l[edge]
            if ng < best[other]:
                best[other] = ng
                prev_node[other] = node
                prev_edge[other] = edge
                heappush(heap, (ng + min_rate * hypot(nx[other] - tx, ny[other] - ty), ng,
                                other))
    if prev_node[dst] < 0:
        raise RouteError("no route between these points")
    prev = {k: (prev_node[k], prev_edge[k]) for k in _chain(prev_node, src, dst)}
    return _assemble(graph, s, e, prev, src, dst, (sx, sy), (ex, ey), best[dst], sun)


def _chain(prev_node: list[int], src: int, dst: int) -> list[int]:
    """The nodes from dst back to (not including) src."""
    out, node = [], dst
    while node != src:
        out.append(node)
        node = prev_node[node]
    return out


def _assemble(graph: StreetGraph, s: Snap, e: Snap, prev: dict[int, tuple[int, int]], src: int,
              dst: int, start_xy: tuple[float, float], end_xy: tuple[float, float],
              total: float, sun: np.ndarray) -> Route:
    steps: list[tuple[int, int, int]] = []  # (from, to, edge), from the end backwards
    node = dst
    while node != src:
        frm, edge = prev[node]
        steps.append((frm, node, edge))
        node = frm
    steps.reverse()
    pieces = [np.array([start_xy, s.xy])]
    sun_m = s.distance_m * float(sun[s.edge])
    eu = graph.edge_u
    for frm, to, edge in steps:
        pts = graph.edge_xy[edge]
        length = float(graph.edge_len[edge])
        a = s.offset_m if frm == src else (0.0 if frm == eu[edge] else length)
        b = e.offset_m if to == dst else (0.0 if to == eu[edge] else length)
        if frm != src and to != dst:
            piece = pts if a == 0.0 else pts[::-1]  # a whole edge
        else:
            piece = _cut(pts, a, b)
        pieces.append(piece)
        sun_m += abs(b - a) * float(sun[edge])
    pieces.append(np.array([e.xy, end_xy]))
    sun_m += e.distance_m * float(sun[e.edge])
    xy = np.vstack(pieces)
    keep = np.concatenate([[True], np.hypot(*np.diff(xy, axis=0).T) > 1e-6])
    keep[-1] = True
    xy = xy[keep]
    length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
    lat, lon = graph.frame.to_latlon(xy[:, 0], xy[:, 1])
    points = tuple(zip(np.asarray(lat).tolist(), np.asarray(lon).tolist(), strict=True))
    return Route(length, min(sun_m, length), points, total)


def distance_to_route(route: Route, graph: StreetGraph, lat: np.ndarray,
                      lon: np.ndarray) -> np.ndarray:
    """Metres from each point to the route's line."""
    la = np.array([p[0] for p in route.points])
    lo = np.array([p[1] for p in route.points])
    rx, ry = graph.frame.to_xy(la, lo)
    px, py = graph.frame.to_xy(np.asarray(lat, dtype=np.float64),
                               np.asarray(lon, dtype=np.float64))
    a = np.column_stack([rx[:-1], ry[:-1]])
    d = np.column_stack([rx[1:], ry[1:]]) - a
    ll = np.maximum(np.einsum("ij,ij->i", d, d), 1e-12)
    px, py = np.atleast_1d(px)[:, None], np.atleast_1d(py)[:, None]
    t = np.clip(((px - a[:, 0]) * d[:, 0] + (py - a[:, 1]) * d[:, 1]) / ll, 0, 1)
    dist = np.hypot(a[:, 0] + t * d[:, 0] - px, a[:, 1] + t * d[:, 1] - py)
    return dist.min(axis=1)
