"""machimori/geo: readers on real files and hand-made ones, the sun, shade and routes."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from machimori.geo import (
    GeoFormatError,
    build_graph,
    buildings_geojson,
    read_citygml,
    read_geojson,
    read_osm,
    sun_position,
)
from machimori.geo.exposure import StreetExposure
from machimori.geo.model import DEFAULT_HEIGHT_M
from machimori.geo.route import RouteError

from .geo_scenes import END, NOON, START, ll, write_osm

DATA = Path("/work/shared/data")
if not DATA.exists():
    DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NERIMA = DATA / "osm" / "tokyo_nerima_graphdecomposition.osm"
OTA = DATA / "osm" / "ota_plateau_buildings.osm"
PLATEAU = DATA / "plateau"


# ---- readers


def test_osm_streets_and_graph_from_the_real_nerima_extract() -> None:
    m = read_osm(NERIMA)
    # 687 highways in the file; steps, footways and residential streets are all walkable.
    assert len(m.streets) == 687
    kinds = {s.kind for s in m.streets}
    assert {"residential", "footway", "steps", "unclassified"} <= kinds
    g = build_graph(m.streets)
    assert g.intersections() > 500 and g.edges > g.nodes * 0.9
    # Edges keep the streets' shape: total length equals the summed polylines.
    assert g.edge_len.sum() == pytest.approx(sum(float(np.hypot(*np.diff(p, axis=0).T).sum())
                                                 for p in g.edge_xy))


def test_osm_buildings_heights_from_the_real_ota_file() -> None:
    m = read_osm(OTA)
    assert len(m.buildings) > 2000 and m.streets == ()
    assert all(b.height_source == "tag" and b.height_known for b in m.buildings)
    assert all(len(b.footprint) >= 3 and b.footprint[0] != b.footprint[-1]
               for b in m.buildings)  # closing point dropped
    heights = np.array([b.height_m for b in m.buildings])
    assert 2 < np.median(heights) < 40


def test_josm_deleted_elements_are_dropped_and_bz2_is_read(tmp_path: Path) -> None:
    m = read_osm(write_osm(tmp_path / "town.osm.bz2"))
    ids = {s.id for s in m.streets}
    assert ids == {"osm:w100", "osm:w101", "osm:w102", "osm:w103"}
    assert m.dropped["deleted_way"] == 2 and m.dropped["deleted_node"] == 1
    # The modified (not deleted) building is kept, with levels × 3 m.
    hs = {b.id: (b.height_m, b.height_source) for b in m.buildings}
    assert hs == {"osm:w110": (30.0, "tag"), "osm:w111": (9.0, "levels")}


def test_osm_garbage_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.osm"
    bad.write_text("<osm><node id='1' lat='35' lon='139'></osm>")
    with pytest.raises(GeoFormatError, match="not OSM XML"):
        read_osm(bad)
    with pytest.raises(GeoFormatError, match="cannot read"):
        read_osm(tmp_path / "missing.osm")


def test_plateau_citygml_heights_and_unknown_sentinels() -> None:
    tile = read_citygml(PLATEAU / "51357456_bldg_6697_op.gml")
    assert len(tile.buildings) == 94
    by = {b.height_source for b in tile.buildings}
    assert sum(b.height_source == "measured" for b in tile.buildings) == 77
    assert by <= {"measured", "levels", "lod1"}
    # posList is "lat lon h": Osaka, not the Indian Ocean.
    lat, lon = tile.buildings[0].footprint[0]
    assert 34.6 < lat < 34.7 and 135.5 < lon < 135.6
    odd = read_citygml(PLATEAU / "51357441_bldg_Issue138.gml")
    hs = [(b.height_m, b.height_source, b.height_known) for b in odd.buildings]
    # measuredHeight -9999 and storeysAboveGround 9999 are "unknown", never 9999 m or 30 km.
    assert all(h < 100 for h, _, _ in hs)
    assert (4.2, "measured", True) in hs
    assert sum(1 for _, s, known in hs if s == "lod1" and not known) == 2


CITYGML = """<?xml version="1.0" encoding="UTF-8"?>
<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0"
 xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:gml="http://www.opengis.net/gml">
 <gml:boundedBy><gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/6697"
  srsDimension="3"/></gml:boundedBy>
 <core:cityObjectMember><bldg:Building gml:id="b-storeys">
  <bldg:measuredHeight uom="m">-9999</bldg:measuredHeight>
  <bldg:storeysAboveGround>4</bldg:storeysAboveGround>
  <bldg:lod0FootPrint><gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior>
   <gml:LinearRing><gml:posList>35.0 139.0 0 35.0001 139.0 0 35.0001 139.0001 0 35.0 139.0 0
   </gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
  </gml:MultiSurface></bldg:lod0FootPrint></bldg:Building></core:cityObjectMember>
 <core:cityObjectMember><bldg:Building gml:id="b-nothing">
  <bldg:measuredHeight uom="m">-9999</bldg:measuredHeight>
  <bldg:storeysAboveGround>9999</bldg:storeysAboveGround>
  <bldg:lod0FootPrint><gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior>
   <gml:LinearRing><gml:posList>35.0 139.0 0 35.0001 139.0 0 35.0001 139.0001 0 35.0 139.0 0
   </gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
  </gml:MultiSurface></bldg:lod0FootPrint></bldg:Building></core:cityObjectMember>
</core:CityModel>"""


def test_citygml_falls_back_to_storeys_then_a_flagged_default(tmp_path: Path) -> None:
    f = tmp_path / "t.gml"
    f.write_text(CITYGML)
    got = {b.id: (b.height_m, b.height_source, b.height_known)
           for b in read_citygml(f).buildings}
    assert got == {"b-storeys": (12.0, "levels", True),
                   "b-nothing": (DEFAULT_HEIGHT_M, "default", False)}
    doc = buildings_geojson(read_citygml(f).buildings)
    props = [ft["properties"] for ft in doc["features"]]
    assert [p["height_known"] for p in props] == [True, False]
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and ring[0] == [139.0, 35.0]  # GeoJSON: lon, lat; closed
    # A projected CRS (metres) is refused rather than read as degrees.
    f.write_text(CITYGML.replace("EPSG/0/6697", "EPSG/0/6677"))
    with pytest.raises(GeoFormatError, match="not supported"):
        read_citygml(f)


def test_geojson_lines_crossing_without_a_vertex_are_joined_except_bridges() -> None:
    a, b, c, d = ll(-100, 0), ll(100, 0), ll(0, -100), ll(0, 100)
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "LineString", "coordinates": [[a[1], a[0]], [b[1], b[0]]]}},
        {"type": "Feature", "properties": {},
         "geometry": {"type": "LineString", "coordinates": [[c[1], c[0]], [d[1], d[0]]]}}]}
    g = build_graph(read_geojson(doc).streets)
    assert g.nodes == 5 and g.edges == 4 and g.intersections() == 1
    doc["features"][1]["properties"]["bridge"] = "yes"
    g2 = build_graph(read_geojson(doc).streets)
    assert g2.intersections() == 0  # the bridge passes over: one of the two lines is kept
    bad = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[500, 35]]}}]}
    assert read_geojson(bad).dropped == {"bad_geometry": 1}


# ---- sun


def test_sun_position_at_solstice_and_equinox_noon() -> None:
    # Tokyo (35.68 N, 139.77 E): at solar noon elevation = 90 - lat + declination.
    e, a = sun_position(datetime(2026, 6, 21, 2, 41, tzinfo=UTC).timestamp(), 35.68, 139.77)
    assert float(e) == pytest.approx(90 - 35.68 + 23.44, abs=0.15)
    assert float(a) == pytest.approx(180, abs=3)
    e, a = sun_position(datetime(2026, 3, 20, 2, 48, tzinfo=UTC).timestamp(), 35.68, 139.77)
    assert float(e) == pytest.approx(90 - 35.68, abs=0.5)
    # Morning: east of south and rising; night: below the horizon.
    e, a = sun_position(datetime(2026, 8, 3, 0, 0, tzinfo=UTC).timestamp(), 35.68, 139.77)
    assert 40 < float(e) < 60 and 90 < float(a) < 120
    e, _ = sun_position(datetime(2026, 8, 3, 15, 0, tzinfo=UTC).timestamp(), 35.68, 139.77)
    assert float(e) < -20


def test_sun_agrees_with_the_sims_independent_model() -> None:
    from sim.solar import sun_position as sim_sun

    t0 = datetime(2026, 8, 3, 21, 0, tzinfo=UTC).timestamp()
    for k in range(0, 14 * 3600, 1800):
        e, a = sun_position(t0 + k, 35.0, 135.5)
        se, sa = sim_sun(t0 + k, 35.0, 135.5)
        assert abs(float(e) - se) < 1.5
        if se > 5:
            assert abs((float(a) - sa + 180) % 360 - 180) < 3


# ---- shade and routes


def test_a_block_shades_the_street_north_of_it_at_noon(tmp_path: Path) -> None:
    m = read_osm(write_osm(tmp_path / "t.osm"))
    exp = StreetExposure(m.streets, m.buildings[:1])
    lit = exp.point_sunlit(*map(np.array, zip(ll(100, 40), ll(100, 0), strict=True)),
                           NOON.timestamp())
    assert lit.tolist() == [False, True]  # north street in the block's shadow, south in sun
    # In the late afternoon the sun is in the west: the shadow falls east, off both streets.
    evening = NOON.timestamp() + 5.5 * 3600
    assert exp.sun(evening).azimuth > 270
    at_night = NOON.timestamp() + 10 * 3600
    assert exp.sunlit(at_night).max() == 0.0  # nothing is sunlit at night


def test_cool_route_takes_the_shaded_street_and_reports_its_sun(tmp_path: Path) -> None:
    m = read_osm(write_osm(tmp_path / "t.osm"))
    exp = StreetExposure(m.streets, m.buildings[:1])
    plan = exp.plan(START, END, NOON.timestamp(), "coolest")
    s, c = plan["shortest"], plan["cool"]
    assert s["length_m"] == pytest.approx(200, abs=0.5)
    assert s["sun_m"] == pytest.approx(200, abs=0.5)  # the south street is all sun
    assert c["length_m"] == pytest.approx(280, abs=1)  # up, along the north street, down
    assert c["sun_m"] < 0.6 * s["sun_m"]
    assert plan["difference"]["length_m"] == pytest.approx(80, abs=1)
    for r in (s, c):
        coords = r["geometry"]["coordinates"]
        assert r["geometry"]["type"] == "LineString"
        assert coords[0] == [round(START[1], 7), round(START[0], 7)]
        assert coords[-1] == [round(END[1], 7), round(END[0], 7)]
    # The cool route passes the north street's middle, the shortest does not.
    mid = [round(v, 7) for v in reversed(ll(100, 40))]
    assert mid in c["geometry"]["coordinates"] and mid not in s["geometry"]["coordinates"]
    # At night there is no sun to avoid: both routes are the shortest.
    night = exp.plan(START, END, NOON.timestamp() + 10 * 3600, "coolest")
    assert night["cool"]["length_m"] == pytest.approx(200, abs=0.5)
    assert night["cool"]["sun_m"] == 0


def test_balanced_weighs_heat_and_points_off_the_street_are_joined(tmp_path: Path) -> None:
    m = read_osm(write_osm(tmp_path / "t.osm"))
    exp = StreetExposure(m.streets, m.buildings[:1])
    cool_day = exp.plan(START, END, NOON.timestamp(), "balanced",
                        wbgt=np.full(exp.graph.edges, 20.0))  # 20 °C: shade hardly matters
    assert cool_day["cool"]["length_m"] == pytest.approx(200, abs=0.5)
    hot_day = exp.plan(START, END, NOON.timestamp(), "balanced",
                       wbgt=np.full(exp.graph.edges, 31.0))
    assert hot_day["cool"]["length_m"] == pytest.approx(280, abs=1)
    # A start 15 m south of the street: the line starts there and walks to the street.
    off = ll(50, -15)
    p = exp.plan(off, END, NOON.timestamp(), "shortest")
    assert p["shortest"]["geometry"]["coordinates"][0] == [round(off[1], 7), round(off[0], 7)]
    assert p["shortest"]["length_m"] == pytest.approx(15 + 150, abs=0.5)
    with pytest.raises(RouteError, match="mode"):
        exp.plan(START, END, NOON.timestamp(), "fastest")
    with pytest.raises(RouteError, match="from the nearest street"):
        exp.plan(ll(0, 5000), END, NOON.timestamp())


def test_route_on_the_real_nerima_streets_is_a_connected_line() -> None:
    m = read_osm(NERIMA)
    exp = StreetExposure(m.streets, m.buildings)
    start, end = (35.7420, 139.6600), (35.7560, 139.6780)
    plan = exp.plan(start, end, NOON.timestamp(), "balanced")
    r = plan["shortest"]
    coords = np.array(r["geometry"]["coordinates"])
    xs, ys = exp.graph.frame.to_xy(np.array([start[0], end[0]]), np.array([start[1], end[1]]))
    crow = math.hypot(xs[1] - xs[0], ys[1] - ys[0])
    hops = np.hypot(*np.diff(np.column_stack(exp.graph.frame.to_xy(coords[:, 1], coords[:, 0])),
                             axis=0).T)
    assert crow < r["length_m"] < 1.6 * crow  # a street route, not a straight line
    assert hops.max() < 400  # no jumps across the map
    assert r["length_m"] == pytest.approx(float(hops.sum()), rel=1e-3)
    json.dumps(plan)  # plain JSON


def test_route_costs_equal_networkx_on_the_real_streets() -> None:
    """An independent shortest-path implementation agrees on every cost, per mode."""
    import networkx as nx

    from machimori.geo.route import edge_costs, find_route, heat_weight

    exp = StreetExposure(read_osm(NERIMA).streets, [])
    g = exp.graph
    sun = np.random.default_rng(3).uniform(0, 1, g.edges)  # any sun pattern will do
    rng = np.random.default_rng(5)
    for mode in ("shortest", "coolest"):
        cost = edge_costs(g, sun, heat_weight(None, g.edges), mode)
        G = nx.Graph()
        for e in range(g.edges):
            u, v, c = int(g.edge_u[e]), int(g.edge_v[e]), float(cost[e])
            if not G.has_edge(u, v) or G[u][v]["w"] > c:
                G.add_edge(u, v, w=c)
        for a, b in rng.integers(0, g.nodes, (15, 2)):
            if a == b:
                continue
            r = find_route(g, g.node_latlon(int(a)), g.node_latlon(int(b)), cost, sun)
            assert r.cost == pytest.approx(nx.dijkstra_path_length(G, int(a), int(b),
                                                                   weight="w"), rel=1e-9)


def test_entity_expansion_bombs_are_refused(tmp_path: Path) -> None:
    lol = ['<!ENTITY l0 "lollollollollol">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    bomb = tmp_path / "bomb.osm"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE osm [' + "".join(lol) + ']>\n'
                    '<osm><way id="1"><tag k="name" v="&l9;"/></way></osm>\n')
    with pytest.raises(GeoFormatError, match="not OSM XML"):
        read_osm(bomb)
