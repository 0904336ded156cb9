"""GeoJSON in and out: LineStrings are streets, Polygons are buildings (coordinates lon, lat).

Building heights are read from the properties `height_m`, `height` (metres), else
`building:levels` / `levels` / `storeys` × 3 m; `height_source` is kept when the file says it
(files this package wrote). Streets whose lines cross without a shared vertex are joined at the
crossing when the graph is built (see graph.py), unless a property marks a bridge or tunnel.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from .model import (
    HEIGHT_SOURCES,
    Building,
    GeoFormatError,
    LatLon,
    MapData,
    Street,
    height_from,
)
from .osm import open_maybe_compressed, parse_height, parse_levels


def read_geojson(source: str | Path | dict[str, Any]) -> MapData:
    """Streets and buildings from a GeoJSON file (or an already parsed document)."""
    if isinstance(source, dict):
        doc = source
        name = "<geojson>"
    else:
        name = str(source)
        try:
            with open_maybe_compressed(source) as f:
                doc = json.loads(f.read().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise GeoFormatError(f"{name}: not GeoJSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise GeoFormatError(f"{name}: not a GeoJSON object")
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise GeoFormatError(f"{name}: FeatureCollection without a features list")
    elif doc.get("type") == "Feature":
        feats = [doc]
    else:
        feats = [{"type": "Feature", "properties": {}, "geometry": doc}]
    streets: list[Street] = []
    buildings: list[Building] = []
    dropped: Counter[str] = Counter()
    for i, feat in enumerate(feats):
        if not isinstance(feat, dict) or not isinstance(feat.get("geometry"), dict):
            dropped["no_geometry"] += 1
            continue
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            props = {}
        fid = str(feat.get("id", props.get("id", i)))
        try:
            _feature(fid, feat["geometry"], props, streets, buildings)
        except (TypeError, ValueError, KeyError, IndexError):
            dropped["bad_geometry"] += 1
    return MapData(tuple(streets), tuple(buildings), dict(dropped))


def _point(c: Any) -> LatLon:
    lon, lat = float(c[0]), float(c[1])
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise ValueError("coordinate out of range")
    return lat, lon


def _height(props: dict[str, Any]) -> tuple[float, str]:
    src = props.get("height_source")
    for key in ("height_m", "height"):
        v = props.get(key)
        h = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else (
            parse_height(v) if isinstance(v, str) else None)
        if h is not None and math.isfinite(h) and 0 < h < 1000:
            return h, (src if src in HEIGHT_SOURCES else "tag")
    for key in ("building:levels", "levels", "storeys"):
        lv = parse_levels(str(props[key])) if key in props else None
        if lv is not None:
            return height_from(None, lv)
    return height_from(None, None)


def _feature(fid: str, geom: dict[str, Any], props: dict[str, Any], streets: list[Street],
             buildings: list[Building]) -> None:
    kind = geom.get("type")
    coords: Any = geom.get("coordinates")
    name = str(props.get("name", ""))[:200]
    if kind in ("LineString", "MultiLineString"):
        lines = [coords] if kind == "LineString" else coords
        flag = any(props.get(k) not in (None, "", "no", False) for k in ("bridge", "tunnel"))
        for j, line in enumerate(lines):
            pts = tuple(_point(c) for c in line)
            if len(pts) >= 2:
                sid = fid if len(lines) == 1 else f"{fid}/{j}"
                streets.append(Street(sid, pts, None,
                                      "bridge" if flag else str(props.get("highway",
                                                                          props.get("kind",
                                                                                    "street"))),
                                      name))
    elif kind in ("Polygon", "MultiPolygon"):
        polys = [coords] if kind == "Polygon" else coords
        h, src = _height(props)
        for j, poly in enumerate(polys):
            ring = [_point(c) for c in poly[0]]
            if len(ring) > 1 and ring[0] == ring[-1]:
                ring = ring[:-1]
            if len(ring) >= 3:
                bid = fid if len(polys) == 1 else f"{fid}/{j}"
                buildings.append(Building(bid, tuple(ring), h, src, name))


def buildings_geojson(buildings: tuple[Building, ...] | list[Building]) -> dict[str, Any]:
    """A FeatureCollection of footprints with `height_m`, `height_source` and `height_known`."""
    feats = []
    for b in buildings:
        ring = [[round(lon, 7), round(lat, 7)] for lat, lon in b.footprint]
        ring.append(ring[0])
        props: dict[str, Any] = {"id": b.id, "height_m": round(b.height_m, 2),
                                 "height_source": b.height_source,
                                 "height_known": b.height_known}
        if b.name:
            props["name"] = b.name
        feats.append({"type": "Feature", "id": b.id, "properties": props,
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": feats}


def streets_geojson(streets: tuple[Street, ...] | list[Street]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "street", "highway": s.kind, "name": s.name},
         "geometry": {"type": "LineString",
                      "coordinates": [[lon, lat] for lat, lon in s.points]}} for s in streets]}
