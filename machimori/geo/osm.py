"""OpenStreetMap XML (`.osm`, `.osm.bz2`, `.osm.gz`) → streets people can walk and buildings.

Elements marked `action="delete"` (files saved by the JOSM editor) or `visible="false"` are not
part of the map and are dropped; ways lose references to nodes the file does not hold (an extract
cut at its edge). Building heights come from `height` (metres; "12", "12 m", "40 ft"), else
`building:levels` (+ `roof:levels`) × 3 m, else DEFAULT_HEIGHT_M with the source `default`.
"""

from __future__ import annotations

import bz2
import gzip
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import IO

from .model import (
    DEFAULT_HEIGHT_M,
    METRES_PER_STOREY,
    Building,
    GeoFormatError,
    MapData,
    Street,
)

# Highways nobody walks along (or that do not exist yet); everything else is walkable unless
# foot=no / access=no says otherwise.
NOT_WALKABLE = frozenset({"motorway", "motorway_link", "construction", "proposed", "raceway",
                          "bus_guideway", "abandoned", "razed", "escape", "busway"})
_HEIGHT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(m|meters?|metres?|ft|feet|')?\s*$", re.IGNORECASE)


def open_maybe_compressed(path: str | Path) -> IO[bytes]:
    """The file's bytes, decompressed by its suffix (.bz2, .gz)."""
    p = str(path)
    if p.endswith(".bz2"):
        return bz2.open(p, "rb")
    if p.endswith(".gz"):
        return gzip.open(p, "rb")  # type: ignore[return-value]  # a binary file object
    return open(p, "rb")


def parse_height(text: str | None) -> float | None:
    """Metres from an OSM height value; None when absent or unreadable."""
    if not text:
        return None
    m = _HEIGHT.match(text)
    if not m:
        return None
    value = float(m.group(1))
    if (m.group(2) or "").lower() in ("ft", "feet", "'"):
        value *= 0.3048
    return value if 0 < value < 1000 else None


def parse_levels(text: str | None) -> float | None:
    try:
        v = float(text) if text else None
    except ValueError:
        return None
    return v if v is not None and 0 < v < 300 else None


def walkable(tags: dict[str, str]) -> bool:
    hw = tags.get("highway")
    if not hw or hw in NOT_WALKABLE:
        return False
    if tags.get("foot") == "no" or (tags.get("access") in ("no", "private")
                                    and tags.get("foot") not in ("yes", "designated")):
        return False
    return tags.get("area") != "yes" or hw == "pedestrian"


def building_height(tags: dict[str, str]) -> tuple[float, str]:
    if (h := parse_height(tags.get("height") or tags.get("building:height"))) is not None:
        return h, "tag"
    if (lv := parse_levels(tags.get("building:levels"))) is not None:
        roof = parse_levels(tags.get("roof:levels")) or 0.0
        return (lv + roof) * METRES_PER_STOREY, "levels"
    return DEFAULT_HEIGHT_M, "default"


def _gone(el: ET.Element) -> bool:
    return el.get("action") == "delete" or el.get("visible") == "false"


def read_osm(path: str | Path) -> MapData:
    """Streets and buildings from an OSM XML file (plain, .bz2 or .gz)."""
    nodes: dict[str, tuple[float, float]] = {}
    streets: list[Street] = []
    buildings: list[Building] = []
    dropped: Counter[str] = Counter()
    try:
        with open_maybe_compressed(path) as f:
            for _, el in ET.iterparse(f, events=("end",)):
                tag = el.tag
                if tag == "node":
                    if _gone(el):
                        dropped["deleted_node"] += 1
                    else:
                        try:
                            lat, lon = float(el.get("lat", "")), float(el.get("lon", ""))
                        except ValueError:
                            dropped["bad_node"] += 1
                        else:
                            if -90 <= lat <= 90 and -180 <= lon <= 180:
                                nodes[el.get("id", "")] = (lat, lon)
                            else:
                                dropped["bad_node"] += 1
                    el.clear()
                elif tag == "way":
                    if _gone(el):
                        dropped["deleted_way"] += 1
                    else:
                        _way(el, nodes, streets, buildings, dropped)
                    el.clear()
                elif tag == "relation":
                    el.clear()
    except ET.ParseError as exc:
        raise GeoFormatError(f"{path}: not OSM XML ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise GeoFormatError(f"{path}: cannot read ({exc})") from exc
    return MapData(tuple(streets), tuple(buildings), dict(dropped))


def _way(el: ET.Element, nodes: dict[str, tuple[float, float]], streets: list[Street],
         buildings: list[Building], dropped: Counter[str]) -> None:
    tags = {t.get("k", ""): t.get("v", "") for t in el.iter("tag")}
    refs = [nd.get("ref", "") for nd in el.iter("nd")]
    known = [r for r in refs if r in nodes]
    if len(known) < len(refs):
        dropped["missing_node_refs"] += len(refs) - len(known)
    wid = el.get("id", "")
    b = tags.get("building") or tags.get("building:part")
    if b and b != "no":
        ring = known[:-1] if len(known) > 1 and known[0] == known[-1] else known
        if len(ring) < 3:
            dropped["short_building"] += 1
            return
        h, src = building_height(tags)
        buildings.append(Building(f"osm:w{wid}", tuple(nodes[r] for r in ring), h, src,
                                  tags.get("name", "")))
    elif walkable(tags):
        if len(known) < 2:
            dropped["short_street"] += 1
            return
        streets.append(Street(f"osm:w{wid}", tuple(nodes[r] for r in known), tuple(known),
                              tags.get("highway", "street"), tags.get("name", "")))
