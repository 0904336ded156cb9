"""The heat-geography API on a town with a street graph: routes beside the shortest with open
shelters on the way, modelled shade, modelled against measured sun/shade; every response checked
against the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from collector.app import create_app
from collector.coolspots.layout import parse_list
from collector.coolspots.registry import import_spots
from collector.store import Store
from machimori.geo import buildings_geojson, read_osm

from .geo_scenes import END, NOON, START, ll, write_osm
from .test_coolspots import heat_summary

NOON_ISO = "2026-08-03T12:00"  # a Monday


@pytest.fixture
def town(tmp_path: Path):
    osm = write_osm(tmp_path / "town.osm.bz2")
    blds = tmp_path / "buildings.geojson"
    blds.write_text(json.dumps(buildings_geojson(read_osm(osm).buildings[:1])))
    db = str(tmp_path / "c.sqlite")
    st = Store(db)
    # A shop on the north street (the shaded way) and one 300 m off, both open Mon 9–18.
    lines = ["ID,名称,緯度,経度,月曜開放開始時刻,月曜開放終了時刻,受入可能人数,市区町村コード"]
    for sid, (x, y) in (("0001", (100, 45)), ("0002", (100, 340))):
        lat, lon = ll(x, y)
        lines.append(f"{sid},店{sid},{lat},{lon},9:00,18:00,5,131016")
    import_spots(st.db, parse_list("\n".join(lines).encode(), kind="partner"), None)
    # Sensors at noon: one on the north street (measured shade), one on the south (sun), one
    # on the north street that says sun (the model disagrees: shade).
    t = NOON.timestamp()
    st.ingest([heat_summary(1, *ll(100, 40), 30.0, t, "shade"),
               heat_summary(2, *ll(60, 0), 31.0, t, "sun"),
               heat_summary(3, *ll(150, 40), 30.0, t, "sun")], now=t)
    st.close()
    app = create_app({"DATABASE": db, "TESTING": True, "HEAT_STREETS": str(osm),
                      "HEAT_BUILDINGS": str(blds)})
    return app.test_client()


def check(client, path: str, method: str, status: int, body) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    content = doc["paths"][path][method]["responses"][str(status)]["content"]
    schema = next(iter(content.values()))["schema"]
    v = jsonschema.Draft202012Validator({**schema, "components": doc["components"]})
    assert list(v.iter_errors(body)) == []


def test_route_api_shortest_beside_cool_with_shelters_on_the_way(town) -> None:
    q = f"from={START[0]},{START[1]}&to={END[0]},{END[1]}&at={NOON_ISO}&mode=coolest"
    r = town.get(f"/api/v1/route?{q}")
    assert r.status_code == 200
    body = r.get_json()
    check(town, "/api/v1/route", "get", 200, body)
    assert body["shortest"]["length_m"] == pytest.approx(200, abs=0.5)
    assert body["cool"]["length_m"] == pytest.approx(280, abs=1)
    assert body["difference"]["sun_m"] < -100
    assert body["wbgt_source"] == "live"  # the sensors' noon windows
    assert [s["id"] for s in body["cool"]["shelters"]] == ["131016-0001"]
    assert body["cool"]["shelters"][0]["distance_m"] == pytest.approx(5, abs=0.5)
    # The same at 20:00: the shop is closed, so it is not offered; the sun is down.
    late = town.get(f"/api/v1/route?{q.replace('12:00', '20:00')}").get_json()
    assert late["cool"]["shelters"] == [] and late["cool"]["sun_m"] == 0


@pytest.mark.parametrize("query, status, words", [
    ("from=1,2", 400, "to must be LAT,LON"),
    (f"from={START[0]},{START[1]}&to={END[0]},{END[1]}&mode=fastest", 400, "mode must be"),
    (f"from={START[0]},{START[1]}&to={END[0]},{END[1]}&at=noon", 400, "ISO 8601"),
    (f"from=35.0,139.0&to={END[0]},{END[1]}", 422, "from the nearest street"),
    (f"from={START[0]},{START[1]}&to={END[0]},{END[1]}&at=0001-01-01", 400, "1970 and 2100"),
    (f"from=nan,139.0&to={END[0]},{END[1]}", 400, "not a latitude"),
])
def test_route_api_refuses_bad_input_clearly(town, query: str, status: int, words: str) -> None:
    r = town.get(f"/api/v1/route?{query}")
    assert r.status_code == status and words in r.get_json()["message"]
    check(town, "/api/v1/route", "get", status, r.get_json())


def test_modelled_shade_layer_and_comparison_with_the_sensors(town) -> None:
    r = town.get(f"/api/v1/shade?at={NOON_ISO}")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    doc = r.get_json()
    check(town, "/api/v1/shade", "get", 200, doc)
    sun = sorted(f["properties"]["sun"] for f in doc["features"])
    assert sun[0] < 0.3 and sun[-1] == 1.0  # the north street shaded, the south in sun
    cmp_ = town.get("/api/v1/shade/compare").get_json()
    check(town, "/api/v1/shade/compare", "get", 200, cmp_)
    got = {i["device"]: (i["measured"], i["modelled"], i["agree"]) for i in cmp_["items"]}
    assert got == {"heat-001": ("shade", "shade", True), "heat-002": ("sun", "sun", True),
                   "heat-003": ("sun", "shade", False)}
    assert cmp_["compared"] == 3 and cmp_["agreement"] == pytest.approx(0.667, abs=0.001)
    # The same model feeds the planners' map layer: each sensor's modelled shade now.
    sensors = town.get("/api/v1/sensors").get_json()["sensors"]
    assert {x["id"]: x["modelled_shade"] for x in sensors} == {
        "heat-001": 1.0, "heat-002": 0.0, "heat-003": 1.0}


def test_coolspots_and_alerts_match_the_openapi_document(town) -> None:
    body = town.get(f"/api/v1/coolspots?at={NOON_ISO}").get_json()
    check(town, "/api/v1/coolspots", "get", 200, body)
    assert [i["open"] for i in body["items"]] == [True, True]
    check(town, "/api/v1/coolspots", "get", 400, town.get("/api/v1/coolspots?kind=x").get_json())
    check(town, "/api/v1/heat/alerts", "get", 200, town.get("/api/v1/heat/alerts").get_json())


def test_without_a_street_graph_the_route_says_so(tmp_path: Path) -> None:
    c = create_app({"DATABASE": str(tmp_path / "c.sqlite"), "TESTING": True}).test_client()
    r = c.get(f"/api/v1/route?from={START[0]},{START[1]}&to={END[0]},{END[1]}")
    assert r.status_code == 503 and "HEAT_STREETS" in r.get_json()["message"]
    assert c.get("/api/v1/shade").status_code == 503


def test_route_uses_the_forecast_when_no_sensor_is_live(town, tmp_path: Path) -> None:
    from collector.coolspots.moe import Forecast, store_forecast
    from collector.coolspots.tasks import Town, set_town
    from collector.store import connect

    db = connect(str(tmp_path / "c.sqlite"))
    set_town(db, Town(pref_code="13", forecast_point="44132"))
    day_after = NOON.timestamp() + 86400  # no sensor window near this time
    store_forecast(db, [Forecast("44132", "2026/08/04 05:25",
                                 ((day_after, 33.0), (day_after + 86400, 20.0)))])
    db.close()
    q = f"from={START[0]},{START[1]}&to={END[0]},{END[1]}&mode=balanced"
    hot = town.get(f"/api/v1/route?{q}&at=2026-08-04T12:00").get_json()
    assert hot["wbgt_source"] == "forecast"
    assert hot["cool"]["length_m"] == pytest.approx(280, abs=1)  # 33 °C: worth the detour
    mild = town.get(f"/api/v1/route?{q}&at=2026-08-05T12:00").get_json()
    assert mild["wbgt_source"] == "forecast"
    assert mild["cool"]["length_m"] == pytest.approx(200, abs=0.5)  # 20 °C: not worth it
    alerts = town.get("/api/v1/heat/alerts?at=2026-08-04T12:00").get_json()
    assert alerts["forecast_point"] == "44132" and alerts["forecast_wbgt"] == 33.0
    none = town.get(f"/api/v1/route?{q}&at=2026-08-10T12:00").get_json()
    assert none["wbgt_source"] == "none"
