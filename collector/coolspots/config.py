"""The heat-geography settings of the web app, parsed once from the app's configuration
(MACHIMORI_HEAT_STREETS, MACHIMORI_HEAT_BUILDINGS in the environment, or create_app's dict)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GeoConfig:
    streets: str | None  # OSM (.osm, .osm.bz2) or GeoJSON; default: the BASEMAP streets
    buildings: tuple[str, ...]  # GeoJSON / OSM / CityGML files

    @classmethod
    def from_app(cls, config: Any) -> GeoConfig:
        streets = config.get("HEAT_STREETS") or config.get("BASEMAP") or None
        raw = config.get("HEAT_BUILDINGS") or ()
        if isinstance(raw, str):
            raw = [p for p in (v.strip() for v in raw.split(",")) if p]
        return cls(str(streets) if streets else None, tuple(str(p) for p in raw))
