"""Small hand-made places with known answers, shared by the geo, CLI and API tests."""

from __future__ import annotations

import bz2
from datetime import datetime, timedelta, timezone
from pathlib import Path

from machimori.geo.frame import LocalFrame

JST = timezone(timedelta(hours=9))
CENTRE = (35.68, 139.77)
NOON = datetime(2026, 8, 3, 12, 0, tzinfo=JST)  # sun high in the south (~70°, az ~180°)
FRAME = LocalFrame(*CENTRE)


def ll(x: float, y: float) -> tuple[float, float]:
    lat, lon = FRAME.to_latlon(x, y)
    return round(float(lat), 8), round(float(lon), 8)


# Two streets 200 m long, 40 m apart, joined at both ends. A 30 m block stands just south of
# the north street (x 10..190, y 30..38): at noon its shadow covers the north street, while the
# south street lies in full sun. Start and end are on the south street.
NODES = {1: (0, 0), 2: (100, 0), 3: (200, 0), 4: (0, 40), 5: (100, 40), 6: (200, 40),
         7: (100, 20)}
START, END = ll(0, 0), ll(200, 0)


def osm_xml(josm_deleted: bool = True) -> str:
    """The two streets, the block, and (JOSM) a deleted diagonal shortcut and a deleted node."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="JOSM">']
    for nid, (x, y) in NODES.items():
        lat, lon = ll(x, y)
        out.append(f'  <node id="{nid}" lat="{lat}" lon="{lon}" version="1"/>')
    corners = [(10, 30), (190, 30), (190, 38), (10, 38)]
    for k, (x, y) in enumerate(corners):
        lat, lon = ll(x, y)
        out.append(f'  <node id="{20 + k}" lat="{lat}" lon="{lon}" version="1"/>')

    def way(wid: int, refs: list[int], tags: dict[str, str], extra: str = "") -> None:
        out.append(f'  <way id="{wid}" version="1"{extra}>')
        out.extend(f'    <nd ref="{r}"/>' for r in refs)
        out.extend(f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append("  </way>")

    way(100, [1, 2, 3], {"highway": "residential", "name": "南通り"})
    way(101, [4, 5, 6], {"highway": "residential", "name": "北通り"})
    way(102, [1, 4], {"highway": "footway"})
    way(103, [3, 6], {"highway": "footway"})
    way(110, [20, 21, 22, 23, 20], {"building": "yes", "height": "30"})
    way(111, [20, 21, 22, 23, 20], {"building": "yes", "building:levels": "3"},
        ' action="modify"')
    if josm_deleted:
        # Deleted in the editor: not part of the map. Were they read, the route would take
        # this shortcut across the middle (node 7 is deleted too).
        lat, lon = ll(100, 20)
        out.append(f'  <node id="8" lat="{lat}" lon="{lon}" action="delete" version="1"/>')
        way(120, [1, 8, 3], {"highway": "footway"}, ' action="delete"')
        way(121, [2, 7, 5], {"highway": "footway"}, ' action="delete"')
    else:
        way(121, [2, 7, 5], {"highway": "footway"})
    out.append("</osm>")
    return "\n".join(out) + "\n"


def write_osm(path: Path, josm_deleted: bool = True) -> Path:
    data = osm_xml(josm_deleted).encode()
    if path.suffix == ".bz2":
        path.write_bytes(bz2.compress(data))
    else:
        path.write_bytes(data)
    return path
