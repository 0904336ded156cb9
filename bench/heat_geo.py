"""Cool routes on a 10,000-intersection graph, and shade precomputation for a district.

    .venv/bin/python bench/heat_geo.py [--pairs 200] [--max-km 2] [--routes-only]
                                       [--data ../shared/data]

Routes: a 100 × 100 grid town (machimori.geo.synthetic.grid_town: jittered intersections,
bent streets, 39,204 buildings 6–40 m), 200 random origin–destination intersections (seed 7),
at 12:00 JST on 2026-08-03. Times `find_route` per mode (A* with heapq over Python lists), the
whole `plan` (shortest + cool route, geometry, JSON-ready) and, as the named peer in the same
run, networkx's `astar_path` and `dijkstra_path` over the same graph and edge costs (costs are
checked equal). Shade: the real PLATEAU buildings of 大田区 (OSM file) with a street every 50 m
over their extent, every hour 05:00–19:00 — and the same for the 10,000-intersection town.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from machimori.geo import read_osm
from machimori.geo.exposure import StreetExposure
from machimori.geo.model import Street
from machimori.geo.route import edge_costs, find_route, heat_weight
from machimori.geo.synthetic import grid_town

ROOT = Path(__file__).resolve().parents[1]
NOON = 1785726000.0  # 2026-08-03 12:00 JST


def cpu() -> float:
    return time.process_time()


def pct(xs: list[float]) -> str:
    a = np.array(xs) * 1000
    return f"{np.percentile(a, 50):.1f} / {np.percentile(a, 95):.1f}"


def routes(pairs: int, max_km: float | None = None) -> None:
    t = time.perf_counter()
    town = grid_town(100, 100)
    exp = StreetExposure(town.streets, town.buildings)
    g = exp.graph
    print(f"graph: {g.nodes} nodes ({g.intersections()} with 3+ streets), {g.edges} edges, "
          f"{len(town.buildings)} buildings; built in {time.perf_counter() - t:.1f} s")
    rng = np.random.default_rng(7)
    ods = []
    while len(ods) < pairs:
        a, b = (int(v) for v in rng.integers(0, g.nodes, 2))
        crow = float(np.hypot(*(g.node_xy[a] - g.node_xy[b])))
        if a != b and (max_km is None or crow <= max_km * 1000):
            ods.append((a, b))
    print(f"{len(ods)} pairs" + (f" at most {max_km:g} km apart" if max_km else ""))
    sun = exp.sunlit(NOON)
    heat = heat_weight(None, g.edges)
    import networkx as nx

    print("| mode | machimori find_route p50 / p95 ms | whole plan p50 / p95 ms | "
          "networkx astar_path p50 / p95 ms | networkx dijkstra_path p50 / p95 ms | "
          "p95 ratio (astar) |")
    print("|---|---|---|---|---|---|")
    for mode in ("shortest", "balanced", "coolest"):
        cost = edge_costs(g, sun, heat, mode)
        G = nx.Graph()
        for e in range(g.edges):
            u, v, c = int(g.edge_u[e]), int(g.edge_v[e]), float(cost[e])
            if not G.has_edge(u, v) or G[u][v]["w"] > c:
                G.add_edge(u, v, w=c)
        rate = float((cost / g.edge_len).min())
        xy = g.node_xy

        def h(a: int, b: int, xy: np.ndarray = xy, rate: float = rate) -> float:
            return rate * math.hypot(xy[a, 0] - xy[b, 0], xy[a, 1] - xy[b, 1])

        ours, plans, astar, dij, ours_cpu, astar_cpu = [], [], [], [], [], []
        for a, b in ods:
            pa, pb = g.node_latlon(a), g.node_latlon(b)
            t0, c0 = time.perf_counter(), cpu()
            r = find_route(g, pa, pb, cost, sun)
            ours.append(time.perf_counter() - t0)
            ours_cpu.append(cpu() - c0)
            t0, c0 = time.perf_counter(), cpu()
            nx_cost = nx.astar_path_length(G, a, b, heuristic=h, weight="w")
            astar.append(time.perf_counter() - t0)
            astar_cpu.append(cpu() - c0)
            t0 = time.perf_counter()
            nx.dijkstra_path(G, a, b, weight="w")
            dij.append(time.perf_counter() - t0)
            if not math.isclose(r.cost, nx_cost, rel_tol=1e-6, abs_tol=1e-3):
                raise SystemExit(f"cost differs from networkx: {r.cost} vs {nx_cost}")
        for a, b in ods[:30]:
            t0 = time.perf_counter()
            exp.plan(g.node_latlon(a), g.node_latlon(b), NOON, mode)
            plans.append(time.perf_counter() - t0)
        ratio = np.percentile(astar, 95) / np.percentile(ours, 95)
        print(f"| {mode} | {pct(ours)} (CPU {pct(ours_cpu)}) | {pct(plans)} | {pct(astar)} "
              f"(CPU {pct(astar_cpu)}) | {pct(dij)} | ×{ratio:.1f} |")


def shade(data: Path) -> None:
    osm = read_osm(data / "osm" / "ota_plateau_buildings.osm")
    lats = np.array([p[0] for b in osm.buildings for p in b.footprint])
    lons = np.array([p[1] for b in osm.buildings for p in b.footprint])
    dlat, dlon = 50 / 111_195, 50 / (111_195 * math.cos(math.radians(lats.mean())))
    streets = [Street(f"h{i}", ((la, lons.min()), (la, lons.max())))
               for i, la in enumerate(np.arange(lats.min(), lats.max(), dlat))]
    streets += [Street(f"v{i}", ((lats.min(), lo), (lats.max(), lo)))
                for i, lo in enumerate(np.arange(lons.min(), lons.max(), dlon))]
    print("| district | buildings | street edges | samples | raster | build s | "
          "15 hours s | per hour ms (p50 / max) | sunlit share 12:00 |")
    print("|---|---|---|---|---|---|---|---|---|")
    town = grid_town(100, 100)
    for name, st, bl in (("大田区 PLATEAU (real buildings, 50 m street grid)", streets,
                          osm.buildings),
                         ("grid town 100 × 100", town.streets, town.buildings)):
        t0 = time.perf_counter()
        exp = StreetExposure(st, bl)
        build = time.perf_counter() - t0
        hours = []
        day = NOON - 7 * 3600  # 05:00 JST
        for k in range(15):
            t1 = time.perf_counter()
            exp.sunlit(day + k * 3600)
            hours.append(time.perf_counter() - t1)
        g = exp.graph
        noon = exp.sunlit(NOON)
        share = float((noon * g.edge_len).sum() / g.edge_len.sum())
        rows, cols = exp.grid.heights.shape
        print(f"| {name} | {len(bl):,} | {g.edges:,} | {len(g.sample_xy):,} | "
              f"{cols}×{rows} @ {exp.grid.cell:g} m | {build:.1f} | {sum(hours):.2f} | "
              f"{np.median(hours) * 1000:.0f} / {max(hours) * 1000:.0f} | {share:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--max-km", type=float, default=None,
                    help="only pairs at most this far apart (a walk), e.g. 2")
    ap.add_argument("--routes-only", action="store_true")
    ap.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "data")
    a = ap.parse_args()
    if not a.data.exists():
        a.data = Path("/work/shared/data")
    routes(a.pairs, a.max_km)
    if not a.routes_only:
        shade(a.data)


if __name__ == "__main__":
    main()
