"""Modelled shade against the simulated town's sun/shade at its heat nodes, over a summer day.

    .venv/bin/python bench/shade_compare.py [--seed 1] [--date 2026-08-03]
    .venv/bin/python bench/shade_compare.py --measured DEMO_DIR   # after `machimori demo
                                                                  #  --seconds 60 --data-dir DIR`

The sim's ground truth (sim/town.py node_in_shade) shades a node when the sun is within 45° of
azimuth of its obstruction and below its elevation. `machimori heat buildings --sim-seed` turns
each obstruction into a block (machimori.geo.synthetic.obstruction_building); the model then
computes shade from that block with the building raster and the NOAA sun. Compared every 10 min
from sunrise to sunset at every node: agreement, and where the two differ. Tree shade
(tree_shade in the sim, which darkens a node's light sensor) is not a building and is not
modelled: the share of nodes under trees is printed beside it.

With --measured, the flags the demo's gateways actually measured (from illuminance against the
clear sky) are compared through the API (`/api/v1/shade/compare`), each disagreement listed with
the sim's truth and the node's tree shade.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

import numpy as np

from machimori.geo.exposure import StreetExposure
from machimori.geo.model import Street
from machimori.heat_cli import sim_buildings
from sim.town import build_town, node_in_shade, weather

JST = timezone(timedelta(hours=9))


def measured(demo: str, seed: int) -> None:
    from collector.app import create_app

    app = create_app({"DATABASE": f"{demo}/collector.sqlite",
                      "BASEMAP": f"{demo}/town/basemap.geojson",
                      "HEAT_BUILDINGS": f"{demo}/town/buildings.geojson"})
    body = app.test_client().get("/api/v1/shade/compare").get_json()
    town = build_town(seed)
    nodes = {n.id: n for n in town.nodes}
    print(f"measured flags: {body['compared']} sensors compared, agreement {body['agreement']}")
    for i in body["items"]:
        if i["agree"] is False:
            n = nodes[i["device"]]
            truth = node_in_shade(n, weather(town, i["at"]))
            print(f"  {i['device']}: measured {i['measured']}, modelled {i['modelled']}; sim "
                  f"building shade {truth}, tree shade {n.tree_shade}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--date", default="2026-08-03")
    ap.add_argument("--measured", metavar="DEMO_DIR", default=None)
    a = ap.parse_args()
    if a.measured:
        measured(a.measured, a.seed)
        return
    town = build_town(a.seed)
    streets = [Street(f"s{i}", (p, q)) for i, (p, q) in enumerate(town.streets)]
    exp = StreetExposure(streets, sim_buildings(a.seed))
    lat = np.array([n.lat for n in town.nodes])
    lon = np.array([n.lon for n in town.nodes])
    day = datetime.strptime(a.date, "%Y-%m-%d").replace(tzinfo=JST).timestamp()
    agree = total = 0
    model_only = truth_only = 0
    for k in range(5 * 6, 19 * 6):
        t = day + k * 600
        w = weather(town, t)
        if w.sun_elev <= 2:
            continue
        lit = exp.point_sunlit(lat, lon, t)
        truth = np.array([node_in_shade(n, w) for n in town.nodes])
        model = ~lit
        agree += int((model == truth).sum())
        total += len(truth)
        model_only += int((model & ~truth).sum())
        truth_only += int((~model & truth).sum())
    trees = sum(1 for n in town.nodes if n.tree_shade > 0) / len(town.nodes)
    print(f"seed {a.seed}, {a.date}: {total} node-times, agreement {agree / total:.3f}; "
          f"model shade but sim sun {model_only}, sim shade but model sun {truth_only}; "
          f"nodes under trees (not modelled): {trees:.0%}")


if __name__ == "__main__":
    main()
