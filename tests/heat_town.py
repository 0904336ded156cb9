"""Heat summaries for the simulated town's nodes over some hours: what the map pages show.

Readings come from the sim (sim/town.py); WBGT is the MOE estimate written out plainly here
(the fixture must not use the gateway's kernels), and the level is the contract's.
"""

from __future__ import annotations

import json

from machimori.contract.wbgt import level_of
from sim.places import node_reading
from sim.town import Town, build_town, sim_epoch

LUX_PER_WM2 = 110.0  # the conversion docs/protocol.md gives for the MOE estimate

SILENT = "heat-005"  # stops reporting an hour before the end: the map greys it


def _wbgt(ta: float, rh: float, lux: float) -> float:
    sr = lux / LUX_PER_WM2 / 1000.0
    return 0.735 * ta + 0.0374 * rh + 0.00292 * ta * rh + 7.619 * sr - 4.557 * sr * sr - 4.064


def town_summaries(seed: int = 1, hours: float = 6.0, step_s: float = 600.0,
                   end: float | None = None, names: dict[str, str] | None = None
                   ) -> tuple[Town, list[tuple[str, bytes]]]:
    """(town, [(topic, payload)]) with one window per node every step_s up to `end`."""
    town = build_town(seed)
    end = sim_epoch("2026-08-03T10:00:00") if end is None else end
    out: list[tuple[str, bytes]] = []
    seqs: dict[str, int] = {}
    steps = int(hours * 3600 / step_s)
    for k in range(steps):
        t = end - (steps - 1 - k) * step_s
        for i, node in enumerate(town.nodes):
            if node.id == SILENT and t > end - 3600:
                continue
            r = node_reading(town, node, i, t)
            if r.air_c is None or r.humidity is None or r.illuminance is None:
                continue  # a chip failed this wake (the sim injects faults): no window
            w = round(_wbgt(r.air_c, r.humidity, r.illuminance), 2)
            stat = lambda v: {"mean": v, "min": v, "max": v, "last": v}
            seq = seqs[node.gw] = seqs.get(node.gw, 0) + 1
            body = {"schema": "machimori/summary/1", "id": f"{node.gw}:{seq}", "gw": node.gw,
                    "seq": seq, "kind": "heat", "device": node.id, "start": t - step_s,
                    "end": t, "n": 10,
                    "values": {"air_c": stat(r.air_c), "humidity": stat(r.humidity),
                               "illuminance": stat(r.illuminance), "wbgt_c": stat(w),
                               **({"surface_c": stat(r.surface_c)}
                                  if r.surface_c is not None else {})},
                    "place": {"lat": node.lat, "lon": node.lon,
                              "name": (names or {}).get(node.id, node.name)},
                    "wbgt_level": level_of(w),
                    "state": {"sun": "shade" if r.in_shade else "sun", "faults": [],
                              "hot_spot": (r.surface_c or 0) > 50}}
            out.append((f"machimori/v1/gw/{node.gw}/summary/heat", json.dumps(body).encode()))
    return town, out
