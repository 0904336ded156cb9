"""Geography for the heat services: OSM / GeoJSON / PLATEAU CityGML readers, a local metric
frame, the sun's position, shade from buildings, the street graph and cool routes.

Pure: no Flask, no database, no clock (times are passed in). The readers take a path and
return frozen values (`read_osm(path) -> MapData(streets, buildings, dropped)`), so the sim and
the collector share them.
"""

from .citygml import read_citygml
from .geojson import buildings_geojson, read_geojson, streets_geojson
from .graph import StreetGraph, build_graph
from .model import Building, GeoFormatError, MapData, Street
from .osm import read_osm
from .sun import sun_position


def read_map(path: str) -> MapData:
    """Any supported file by its name: .osm[.bz2|.gz], .gml / .xml (CityGML), else GeoJSON."""
    p = str(path).lower()
    for suffix in (".bz2", ".gz"):
        p = p.removesuffix(suffix)
    if p.endswith(".osm"):
        return read_osm(path)
    if p.endswith((".gml", ".citygml")):
        return read_citygml(path)
    return read_geojson(path)


__all__ = ["Building", "GeoFormatError", "MapData", "Street", "StreetGraph", "build_graph",
           "buildings_geojson", "read_citygml", "read_geojson", "read_map", "read_osm",
           "streets_geojson", "sun_position"]
