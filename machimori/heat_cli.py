"""`machimori heat buildings|shade|route`: footprints with heights, shade along the streets and
cool routes, from OSM / GeoJSON / PLATEAU CityGML files (machimori/geo does the work)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

JST = timezone(timedelta(hours=9))
HEAT_GROUP = "Heat-stress tools for planners: indices, buildings, shade and cool routes."


def register(sub: argparse._SubParsersAction) -> None:
    from machimori.cli import subgroup

    heat = subgroup(sub, "heat", "heat-stress tools for planners", HEAT_GROUP)
    b = heat.add_parser(
        "buildings", help="building footprints with heights → GeoJSON",
        description="Read building footprints and heights from PLATEAU CityGML tiles, an OSM "
        "file or the simulated town and write a GeoJSON FeatureCollection with height_m, "
        "height_source (measured, tag, levels, lod1, default) and height_known per building.")
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--citygml", nargs="+", metavar="FILE",
                     help="PLATEAU CityGML building tiles (.gml, EPSG:6697)")
    src.add_argument("--osm", metavar="FILE", help="OSM XML (.osm, .osm.bz2, .osm.gz)")
    src.add_argument("--sim-seed", type=int, metavar="N",
                     help="the simulated town of this seed (a block shading each heat node)")
    b.add_argument("--out", help="output GeoJSON (default: standard output)")
    b.set_defaults(func=run_buildings)

    s = heat.add_parser(
        "shade", help="sunlit fraction of every street, hour by hour → GeoJSON",
        description="Precompute modelled shade: for each street edge and each hour of a day, "
        "the fraction of its length in the sun (0 in a building's shadow or at night).")
    _streets_args(s)
    s.add_argument("--date", required=True, help="the day, YYYY-MM-DD (Japan time)")
    s.add_argument("--hours", default="5-19",
                   help="hours of the day to compute, e.g. 6-18 (default 5-19, Japan time)")
    s.add_argument("--out", help="output GeoJSON (default: standard output)")
    s.set_defaults(func=run_shade)

    r = heat.add_parser(
        "route", help="the shortest and the cool walking route between two points",
        description="Route over the street graph weighted by the sun on each street at that "
        "hour (building shade). Prints {\"shortest\": R, \"cool\": R}; R has length_m, sun_m "
        "(metres walked in the sun) and geometry (GeoJSON LineString, start to end).")
    _streets_args(r)
    r.add_argument("--from", dest="start", required=True, metavar="LAT,LON", help="start")
    r.add_argument("--to", dest="end", required=True, metavar="LAT,LON", help="destination")
    r.add_argument("--at", help="ISO 8601 time (no offset: Japan time; default: now)")
    r.add_argument("--mode", default="balanced", choices=["shortest", "balanced", "coolest"],
                   help="how much shade is worth a detour (default balanced)")
    r.add_argument("--json", action="store_true", help="print JSON (default: a summary)")
    r.set_defaults(func=run_route)


def _streets_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--osm", metavar="FILE", help="streets (and buildings) from OSM XML "
                   "(.osm, .osm.bz2, .osm.gz; JOSM-deleted elements are dropped)")
    g.add_argument("--geojson", metavar="FILE", help="streets from GeoJSON LineStrings")
    p.add_argument("--buildings", nargs="+", metavar="FILE", default=[],
                   help="buildings: GeoJSON (from `heat buildings`), OSM or CityGML files")


def parse_at(text: str | None) -> float:
    if not text:
        return time.time()
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--at must be an ISO 8601 time, e.g. 2026-08-03T14:00 (not {text!r})"
                         ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=JST)
    return t.timestamp()


def parse_point(text: str, name: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{name} must be LAT,LON in degrees, e.g. 35.74,139.66") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{name}: {text} is not a latitude,longitude")
    return lat, lon


def _fail(cmd: str, msg: str) -> int:
    print(f"heat {cmd}: {msg}", file=sys.stderr)
    return 2


def _write(doc: dict[str, Any], out: str | None) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text + "\n")


def sim_buildings(seed: int) -> list[Any]:
    """The simulated town's own buildings (those that cast its shade), as machimori.geo reads
    them from the GeoJSON the sim writes."""
    from machimori.geo import read_geojson
    from sim.town import build_town

    return list(read_geojson(build_town(seed).buildings_geojson()).buildings)


def run_buildings(args: argparse.Namespace) -> int:
    from collections import Counter

    from machimori.geo import GeoFormatError, buildings_geojson, read_citygml, read_osm

    found: list[Any] = []
    try:
        if args.sim_seed is not None:
            found = sim_buildings(args.sim_seed)
        elif args.osm:
            found = list(read_osm(args.osm).buildings)
        else:
            for i, path in enumerate(args.citygml, 1):
                data = read_citygml(path)
                found.extend(data.buildings)
                print(f"[{i}/{len(args.citygml)}] {path}: {len(data.buildings)} buildings",
                      file=sys.stderr)
    except GeoFormatError as exc:
        return _fail("buildings", str(exc))
    _write(buildings_geojson(found), args.out)
    by = Counter(b.height_source for b in found)
    print(f"{len(found)} buildings; height from " + ", ".join(
        f"{k} {v}" for k, v in sorted(by.items())), file=sys.stderr)
    return 0


def load_exposure(args: argparse.Namespace) -> Any:
    """The streets and buildings the arguments name, as a StreetExposure."""
    from machimori.geo import read_geojson, read_map, read_osm
    from machimori.geo.exposure import StreetExposure

    data = read_osm(args.osm) if args.osm else read_geojson(args.geojson)
    buildings = list(data.buildings)
    for path in args.buildings:
        buildings.extend(read_map(path).buildings)
    if not data.streets:
        raise ValueError(f"{args.osm or args.geojson}: no walkable streets")
    exp = StreetExposure(data.streets, buildings)
    print(f"{len(data.streets)} streets → {exp.graph.nodes} nodes, {exp.graph.edges} edges; "
          f"{len(buildings)} buildings", file=sys.stderr)
    return exp


def run_shade(args: argparse.Namespace) -> int:
    import numpy as np

    from machimori.geo import GeoFormatError

    try:
        day = datetime.strptime(args.date, "%Y-%m-%d").replace(tzinfo=JST)
        h0, h1 = (int(v) for v in args.hours.split("-"))
        if not 0 <= h0 <= h1 <= 23:
            raise ValueError("--hours must be like 6-18, within 0-23")
        exp = load_exposure(args)
    except (ValueError, GeoFormatError) as exc:
        return _fail("shade", str(exc))
    g = exp.graph
    hours = list(range(h0, h1 + 1))
    table = np.empty((len(hours), g.edges))
    for k, h in enumerate(hours):
        table[k] = exp.sunlit((day + timedelta(hours=h)).timestamp())
        print(f"[{k + 1}/{len(hours)}] {h:02d}:00", file=sys.stderr)
    feats = []
    for e in range(g.edges):
        lat, lon = g.frame.to_latlon(g.edge_xy[e][:, 0], g.edge_xy[e][:, 1])
        feats.append({"type": "Feature", "properties": {
            "length_m": round(float(g.edge_len[e]), 1),
            "sun": {f"{h:02d}": round(float(table[k, e]), 3) for k, h in enumerate(hours)}},
            "geometry": {"type": "LineString", "coordinates": [
                [round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]}})
    _write({"type": "FeatureCollection", "date": args.date, "features": feats}, args.out)
    return 0


def run_route(args: argparse.Namespace) -> int:
    from machimori.geo import GeoFormatError
    from machimori.geo.route import RouteError

    try:
        start = parse_point(args.start, "--from")
        end = parse_point(args.end, "--to")
        at = parse_at(args.at)
        exp = load_exposure(args)
        plan = exp.plan(start, end, at, args.mode)
    except (ValueError, GeoFormatError, RouteError) as exc:
        return _fail("route", str(exc))
    if args.json:
        print(json.dumps(plan, ensure_ascii=False))
        return 0
    s, c, d = plan["shortest"], plan["cool"], plan["difference"]
    print(f"shortest: {s['length_m']:.0f} m, {s['sun_m']:.0f} m in the sun")
    print(f"{args.mode:>8}: {c['length_m']:.0f} m, {c['sun_m']:.0f} m in the sun "
          f"({d['length_m']:+.0f} m walked, {d['sun_m']:+.0f} m of sun)")
    return 0


def demo_spots_csv(seed: int) -> str:
    """A municipal-style list of cool spots for the simulated town (the demo's): a shelter at
    each gateway's neighbourhood centre and partner shops beside some heat nodes."""
    from sim.town import build_town

    town = build_town(seed)
    days = "日月火水木金土"
    head = (["ID", "名称", "緯度", "経度"] + [f"{d}曜開放開始時刻" for d in days]
            + [f"{d}曜開放終了時刻" for d in days] + ["受入可能人数", "設備", "施設区分"])
    rows = [",".join(head)]
    for i, g in enumerate(town.gateways, 1):
        rows.append(",".join([f"{i:04d}", f"地区センター{i}", f"{g.lat:.6f}", f"{g.lon:.6f}",
                              *["9:00"] * 7, *["21:00"] * 7, "30", "冷房・給水・トイレ",
                              "指定暑熱避難施設"]))
    for k, n in enumerate(town.nodes[::6], 1):
        rows.append(",".join([f"{100 + k:04d}", f"協力店{k}", f"{n.lat + 0.00005:.6f}",
                              f"{n.lon:.6f}", "-", *["10:00"] * 6, "-", *["20:00"] * 6, "5",
                              "冷房・給水", "暑熱避難協力施設"]))
    return "\n".join(rows) + "\n"


def prepare_demo(town_dir: Any, seed: int, db: str) -> dict[str, str]:
    """Buildings and cool spots for the demo's town; the collector's environment for them."""
    from pathlib import Path

    from collector.coolspots.layout import parse_list
    from collector.coolspots.registry import import_spots
    from collector.store import connect, migrate
    from machimori.geo import buildings_geojson

    d = Path(town_dir)
    buildings = d / "buildings.geojson"
    buildings.write_text(json.dumps(buildings_geojson(sim_buildings(seed))), encoding="utf-8")
    con = connect(db)
    try:
        migrate(con)
        import_spots(con, parse_list(demo_spots_csv(seed).encode()), "demo",
                     alert_rule="alert_open")
    finally:
        con.close()
    return {"MACHIMORI_HEAT_BUILDINGS": str(buildings)}
