"""PLATEAU CityGML building tiles (bldg:Building, LOD0 footprint / LOD1 solid) → Buildings.

PLATEAU publishes in EPSG:6697 (JGD2011 geographic + height) with posList order "lat lon h".
Unknown values are sentinels: measuredHeight -9999 and storeysAboveGround 9999. A building's
height is, in this order: measuredHeight; storeysAboveGround × 3 m; the vertical extent of its
LOD1 solid (source `lod1`, flagged as a guess); else DEFAULT_HEIGHT_M (source `default`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .model import Building, GeoFormatError, LatLon, MapData, height_from
from .osm import open_maybe_compressed

# CRSs whose axis order is latitude, longitude (JGD2011, JGD2000, WGS84), 3D or 2D.
LATLON_CRS = ("6697", "6668", "4612", "4326", "4979")
UNKNOWN_LIMIT = 9999  # |value| >= this is PLATEAU's "unknown"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _own(el: ET.Element) -> Iterator[ET.Element]:
    """Descendants of a building, not entering its BuildingParts (they are read on their own)."""
    for child in el:
        if _local(child.tag) in ("BuildingPart", "consistsOfBuildingPart"):
            continue
        yield child
        yield from _own(child)


def _number(text: str | None) -> float | None:
    try:
        v = float(text) if text is not None else None
    except ValueError:
        return None
    if v is None or v <= 0 or abs(v) >= UNKNOWN_LIMIT:
        return None  # a sentinel, or no value
    return v


def _rings(el: ET.Element, dim: int) -> list[list[tuple[float, float, float]]]:
    """Every LinearRing under el as (lat, lon, h) points."""
    out = []
    for ring in el.iter():
        if _local(ring.tag) != "LinearRing":
            continue
        values: list[float] = []
        d = dim
        for p in ring:
            if _local(p.tag) == "posList":
                d = int(p.get("srsDimension", dim))
                values.extend(float(v) for v in (p.text or "").split())
            elif _local(p.tag) == "pos":
                vs = [float(v) for v in (p.text or "").split()]
                d = len(vs)
                values.extend(vs)
        if d not in (2, 3) or len(values) % d:
            raise ValueError("posList length is not a multiple of its dimension")
        pts = [(values[i], values[i + 1], values[i + 2] if d == 3 else 0.0)
               for i in range(0, len(values), d)]
        out.append(pts)
    return out


def _area(ring: list[tuple[float, float, float]]) -> float:
    return abs(sum(a[1] * b[0] - b[1] * a[0] for a, b in zip(ring, ring[1:] + ring[:1],
                                                             strict=True))) / 2


def read_citygml(path: str | Path) -> MapData:
    """Buildings (and their parts) of a CityGML file; streets are not read from CityGML."""
    buildings: list[Building] = []
    dropped: Counter[str] = Counter()
    dim = 3
    try:
        with open_maybe_compressed(path) as f:
            for _, el in ET.iterparse(f, events=("end",)):
                name = _local(el.tag)
                if name == "Envelope":
                    srs = el.get("srsName", "")
                    if srs and not any(code in srs for code in LATLON_CRS):
                        raise GeoFormatError(f"{path}: CRS {srs} is not supported (needs "
                                             "latitude/longitude, e.g. EPSG:6697)")
                    dim = int(el.get("srsDimension", "3"))
                elif name in ("Building", "BuildingPart"):
                    try:
                        b = _building(el, dim, len(buildings))
                    except ValueError:
                        dropped["bad_geometry"] += 1
                        b = None
                    if b is None:
                        dropped["no_footprint"] += 1
                    else:
                        buildings.append(b)
                    if name == "Building":
                        el.clear()
    except ET.ParseError as exc:
        raise GeoFormatError(f"{path}: not CityGML/XML ({exc})") from exc
    except OSError as exc:
        raise GeoFormatError(f"{path}: cannot read ({exc})") from exc
    return MapData((), tuple(buildings), dict(dropped))


def _building(el: ET.Element, dim: int, index: int) -> Building | None:
    measured = storeys = None
    foot: list[list[tuple[float, float, float]]] = []
    solid: list[list[tuple[float, float, float]]] = []
    bname = ""
    for child in _own(el):
        n = _local(child.tag)
        if n == "measuredHeight":
            measured = _number(child.text)
        elif n == "storeysAboveGround":
            storeys = _number(child.text)
        elif n == "name" and not bname:
            bname = (child.text or "").strip()[:200]
        elif n in ("lod0FootPrint", "lod0RoofEdge") and not foot:
            foot = _rings(child, dim)
        elif n == "lod1Solid":
            solid = _rings(child, dim)
    if solid and not foot:
        # The bottom face of the LOD1 solid: the rings lying at its lowest height.
        low = min(p[2] for r in solid for p in r)
        foot = [r for r in solid if all(abs(p[2] - low) < 0.01 for p in r)]
    if not foot:
        return None
    ring = max(foot, key=_area)
    if len(ring) > 1 and ring[0][:2] == ring[-1][:2]:
        ring = ring[:-1]
    if len(ring) < 3:
        return None
    pts: tuple[LatLon, ...] = tuple((p[0], p[1]) for p in ring)
    if not all(-90 <= la <= 90 and -180 <= lo <= 180 for la, lo in pts):
        raise ValueError("coordinates are not latitude, longitude")
    extent = (max(p[2] for r in solid for p in r) - min(p[2] for r in solid for p in r)
              if solid else 0.0)
    if measured is None and storeys is None and extent > 0.5:
        h, src = extent, "lod1"
    else:
        h, src = height_from(measured, storeys)
    gid = next((v for k, v in el.attrib.items() if _local(k) == "id"), f"bldg-{index}")
    return Building(gid, pts, round(h, 2), src, bname)
