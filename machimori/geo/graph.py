"""A walkable street graph: intersections and dead ends as nodes, the street between two of them
as one edge (its polyline kept), in metres of a local frame.

OSM ways meet where they share a node id. GeoJSON lines carry no ids: they meet where they share
a vertex, and lines that cross (or end on another line) without one are joined at the crossing
("noding"), except lines marked as bridges or tunnels. Only the largest connected part is kept,
so every two points of the town can be joined.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .frame import LocalFrame
from .model import Street

SAMPLE_SPACING_M = 4.0  # shade is looked up at least this often along each edge
Key = str | tuple


@dataclass
class StreetGraph:
    frame: LocalFrame
    node_xy: np.ndarray  # (N, 2) metres east, north
    edge_u: np.ndarray  # (E,) node index
    edge_v: np.ndarray
    edge_len: np.ndarray  # (E,) metres along the polyline
    edge_xy: list[np.ndarray]  # polyline from u to v, (k, 2)
    adj: list[list[tuple[int, int]]]  # node -> [(other node, edge)]
    seg_a: np.ndarray  # (S, 2) straight pieces of every edge, for snapping
    seg_b: np.ndarray
    seg_edge: np.ndarray  # (S,) edge of each piece
    seg_off: np.ndarray  # (S,) metres from the edge's start to the piece's start
    sample_xy: np.ndarray  # (Q, 2) where shade is evaluated
    sample_edge: np.ndarray  # (Q,)
    sample_w: np.ndarray  # (Q,) metres of edge each sample stands for
    dropped_edges: int = 0  # edges outside the largest connected part

    @property
    def nodes(self) -> int:
        return len(self.node_xy)

    @property
    def edges(self) -> int:
        return len(self.edge_len)

    def intersections(self) -> int:
        """Nodes where three or more edges meet."""
        return int(sum(1 for a in self.adj if len(a) >= 3))

    def lists(self) -> tuple[list[float], list[int], list[int], list[float], list[float]]:
        """Edge lengths, ends and node coordinates as Python lists (fast to index in a search),
        made once."""
        cached = self.__dict__.get("_lists")
        if cached is None:
            cached = (self.edge_len.tolist(), self.edge_u.tolist(), self.edge_v.tolist(),
                      self.node_xy[:, 0].tolist(), self.node_xy[:, 1].tolist())
            self.__dict__["_lists"] = cached
        return cached

    def node_latlon(self, i: int) -> tuple[float, float]:
        lat, lon = self.frame.to_latlon(self.node_xy[i, 0], self.node_xy[i, 1])
        return float(lat), float(lon)


def build_graph(streets: tuple[Street, ...] | list[Street],
                frame: LocalFrame | None = None) -> StreetGraph:
    """The graph of a set of streets (empty streets → ValueError)."""
    if not streets:
        raise ValueError("no walkable streets")
    if frame is None:
        lats = np.array([p[0] for s in streets for p in s.points])
        lons = np.array([p[1] for s in streets for p in s.points])
        frame = LocalFrame.around(lats, lons)
    lines = _keyed_lines(streets, frame)
    lines = _node_crossings(lines, [s.node_ids is None and s.kind != "bridge" for s in streets])
    uses: dict[Key, int] = defaultdict(int)
    for line in lines:
        for k, _ in line:
            uses[k] += 1
        uses[line[0][0]] += 1  # street ends are nodes too
        uses[line[-1][0]] += 1
    node_index: dict[Key, int] = {}
    node_xy: list[tuple[float, float]] = []
    raw_edges: list[tuple[int, int, np.ndarray]] = []

    def node(k: Key, xy: tuple[float, float]) -> int:
        if k not in node_index:
            node_index[k] = len(node_xy)
            node_xy.append(xy)
        return node_index[k]

    for line in lines:
        start = 0
        for i in range(1, len(line)):
            if uses[line[i][0]] >= 2 or i == len(line) - 1:
                piece = line[start:i + 1]
                pts = np.array([xy for _, xy in piece], dtype=np.float64)
                if len(pts) >= 2 and float(np.hypot(*np.diff(pts, axis=0).T).sum()) > 0.01:
                    raw_edges.append((node(piece[0][0], piece[0][1]),
                                      node(piece[-1][0], piece[-1][1]), pts))
                start = i
    return _assemble(frame, np.array(node_xy, dtype=np.float64), raw_edges)


def _keyed_lines(streets: tuple[Street, ...] | list[Street],
                 frame: LocalFrame) -> list[list[tuple[Key, tuple[float, float]]]]:
    lines = []
    for s in streets:
        lat = np.array([p[0] for p in s.points])
        lon = np.array([p[1] for p in s.points])
        x, y = frame.to_xy(lat, lon)
        keys: list[Key] = (list(s.node_ids) if s.node_ids is not None
                           else [(round(a, 7), round(b, 7)) for a, b in s.points])
        line: list[tuple[Key, tuple[float, float]]] = []
        for k, xx, yy in zip(keys, x.tolist(), y.tolist(), strict=True):
            if not line or line[-1][0] != k:  # repeated points would make zero-length pieces
                line.append((k, (xx, yy)))
        if len(line) >= 2:
            lines.append(line)
    return lines


def _node_crossings(lines: list[list[tuple[Key, tuple[float, float]]]],
                    nodable: list[bool]) -> list[list[tuple[Key, tuple[float, float]]]]:
    """Insert a shared vertex where two id-less lines cross or one ends on another."""
    segs = [(li, i, line[i][1], line[i + 1][1])
            for li, line in enumerate(lines) if nodable[li] for i in range(len(line) - 1)]
    if len(segs) < 2:
        return lines
    cell = 50.0
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for si, (_, _, a, b) in enumerate(segs):
        for gx in range(math.floor(min(a[0], b[0]) / cell),
                        math.floor(max(a[0], b[0]) / cell) + 1):
            for gy in range(math.floor(min(a[1], b[1]) / cell),
                            math.floor(max(a[1], b[1]) / cell) + 1):
                grid[(gx, gy)].append(si)
    inserts: dict[tuple[int, int], list[tuple[float, Key, tuple[float, float]]]] = \
        defaultdict(list)
    seen: set[tuple[int, int]] = set()
    tol = 0.05  # metres: ends closer than this to another line are on it
    for members in grid.values():
        for ii, s1 in enumerate(members):
            for s2 in members[ii + 1:]:
                pair = (s1, s2) if s1 < s2 else (s2, s1)
                if pair in seen:
                    continue
                seen.add(pair)
                _cross(segs[s1], segs[s2], lines, inserts, tol)
    out = []
    for li, line in enumerate(lines):
        new: list[tuple[Key, tuple[float, float]]] = []
        for i, pt in enumerate(line):
            new.append(pt)
            for _, k, xy in sorted(inserts.get((li, i), []), key=lambda e: e[0]):
                if new[-1][0] != k:
                    new.append((k, xy))
        out.append(new)
    return out


def _cross(s1: tuple, s2: tuple, lines: list, inserts: dict, tol: float) -> None:
    (l1, i1, a, b), (l2, i2, c, d) = s1, s2
    r = (b[0] - a[0], b[1] - a[1])
    q = (d[0] - c[0], d[1] - c[1])
    den = r[0] * q[1] - r[1] * q[0]
    len_r, len_q = math.hypot(*r), math.hypot(*q)
    if abs(den) < 1e-12 or len_r == 0 or len_q == 0:
        return  # parallel: overlapping lines are not joined
    w = (c[0] - a[0], c[1] - a[1])
    t = (w[0] * q[1] - w[1] * q[0]) / den
    u = (w[0] * r[1] - w[1] * r[0]) / den
    et, eu = tol / len_r, tol / len_q
    if not (-et <= t <= 1 + et and -eu <= u <= 1 + eu):
        return
    # Snap to an existing end when close, so both lines share exactly that vertex.
    if t <= et:
        key, xy = lines[l1][i1]
    elif t >= 1 - et:
        key, xy = lines[l1][i1 + 1]
    elif u <= eu:
        key, xy = lines[l2][i2]
    elif u >= 1 - eu:
        key, xy = lines[l2][i2 + 1]
    else:
        xy = (a[0] + t * r[0], a[1] + t * r[1])
        key = ("x", round(xy[0], 2), round(xy[1], 2))  # type: ignore[assignment]
    if et < t < 1 - et:
        inserts[(l1, i1)].append((t, key, xy))
    if eu < u < 1 - eu:
        inserts[(l2, i2)].append((u, key, xy))


def _assemble(frame: LocalFrame, node_xy: np.ndarray,
              raw: list[tuple[int, int, np.ndarray]]) -> StreetGraph:
    # Keep the largest connected part.
    parent = list(range(len(node_xy)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for u, v, _ in raw:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[ru] = rv
    size: dict[int, int] = defaultdict(int)
    for u, _, _ in raw:
        size[find(u)] += 1
    biggest = max(size, key=lambda r: size[r])
    kept = [e for e in raw if find(e[0]) == biggest]
    used = sorted({n for u, v, _ in kept for n in (u, v)})
    remap = {old: new for new, old in enumerate(used)}
    nodes = node_xy[used]
    eu = np.array([remap[u] for u, _, _ in kept], dtype=np.int64)
    ev = np.array([remap[v] for _, v, _ in kept], dtype=np.int64)
    exy = [p for _, _, p in kept]
    adj: list[list[tuple[int, int]]] = [[] for _ in range(len(nodes))]
    lengths = np.empty(len(kept))
    seg_a, seg_b, seg_edge, seg_off = [], [], [], []
    sxy, sedge, sw = [], [], []
    for e, pts in enumerate(exy):
        u, v = int(eu[e]), int(ev[e])
        adj[u].append((v, e))
        if u != v:
            adj[v].append((u, e))
        steps = np.hypot(*np.diff(pts, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(steps)])
        lengths[e] = cum[-1]
        seg_a.append(pts[:-1])
        seg_b.append(pts[1:])
        seg_edge.append(np.full(len(steps), e))
        seg_off.append(cum[:-1])
        n = max(1, math.ceil(cum[-1] / SAMPLE_SPACING_M))
        at = (np.arange(n) + 0.5) * cum[-1] / n
        sxy.append(np.column_stack([np.interp(at, cum, pts[:, 0]), np.interp(at, cum, pts[:, 1])]))
        sedge.append(np.full(n, e))
        sw.append(np.full(n, cum[-1] / n))
    return StreetGraph(
        frame, nodes, eu, ev, lengths, exy, adj, np.concatenate(seg_a), np.concatenate(seg_b),
        np.concatenate(seg_edge), np.concatenate(seg_off), np.concatenate(sxy),
        np.concatenate(sedge), np.concatenate(sw), len(raw) - len(kept))
