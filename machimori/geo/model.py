"""What the readers produce: streets and buildings as plain frozen values (WGS84 lat, lon)."""

from __future__ import annotations

from dataclasses import dataclass, field

LatLon = tuple[float, float]

# Where a building's height came from. `lod1` is the extent of a PLATEAU LOD1 solid whose
# measuredHeight is unknown (often a placeholder extrusion) and `default` means nothing was
# known (DEFAULT_HEIGHT_M): both are flagged as guesses (height_known false) for the planners.
HEIGHT_SOURCES = ("measured", "tag", "levels", "lod1", "default")
KNOWN_SOURCES = ("measured", "tag", "levels")
DEFAULT_HEIGHT_M = 6.0  # a two-storey house: the commonest building in a Japanese town
METRES_PER_STOREY = 3.0


class GeoFormatError(ValueError):
    """A file that is not what its reader expects; the message names the file and the place."""


@dataclass(frozen=True)
class Street:
    """One street (an OSM way, a GeoJSON LineString): its points in order, shared ids where
    streets meet (OSM node ids; None for GeoJSON, whose ends are joined by position)."""

    id: str
    points: tuple[LatLon, ...]
    node_ids: tuple[str, ...] | None = None
    kind: str = "street"  # the OSM highway value when known
    name: str = ""


@dataclass(frozen=True)
class Building:
    id: str
    footprint: tuple[LatLon, ...]  # outer ring, not repeating the first point
    height_m: float
    height_source: str  # one of HEIGHT_SOURCES
    name: str = ""

    @property
    def height_known(self) -> bool:
        return self.height_source in KNOWN_SOURCES


@dataclass(frozen=True)
class MapData:
    """What a file held: streets and buildings, and how many elements were dropped and why."""

    streets: tuple[Street, ...] = ()
    buildings: tuple[Building, ...] = ()
    dropped: dict[str, int] = field(default_factory=dict)


def height_from(measured: float | None, storeys: float | None) -> tuple[float, str]:
    """A building's height and its source from what a file says; sentinels already removed."""
    if measured is not None and measured > 0:
        return float(measured), "measured"
    if storeys is not None and storeys > 0:
        return float(storeys) * METRES_PER_STOREY, "levels"
    return DEFAULT_HEIGHT_M, "default"
