"""`machimori sim configs|describe`: the town as gateway configurations and as a description."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gateway.config import Device, GatewayConfig, MqttConfig, SimSourceConfig, dump

from .life import wander_gw
from .town import Town, build_town, sim_epoch


def wanderers(town: Town, gw: str) -> list[Any]:
    """Residents who wander into this gateway's area at night: the town's installers enrol a
    resident at risk of wandering at every gateway, so their tag is heard wherever they go."""
    ids = {a.device for a in town.anomalies if a.kind == "wandering"}
    return [r for r in town.residents if r.id in ids and r.gw != gw and wander_gw(town, r) == gw]


def gateway_configs(town: Town, data_root: Path, mqtt_url: str, sim: SimSourceConfig,
                    summary_interval_s: float = 60.0) -> list[GatewayConfig]:
    """One configuration per gateway, with its devices enrolled as an installer would."""
    out = []
    for g in town.gateways:
        mine = town.by_gateway[g.id]
        devices = [Device(id=n.id, kind="heat", address=n.address, lat=n.lat, lon=n.lon,
                          name=n.name, height_m=1.5, mounting="pole", shade_class=(
                              "tree" if n.tree_shade else "open"))
                   for n in mine["nodes"]]
        devices += [Device(id=r.id, kind="tag", key=r.key, person=r.person,
                           household=r.household) for r in mine["residents"] + wanderers(town, g.id)]
        devices += [Device(id=h.id, kind="meter", lat=h.lat, lon=h.lon, household=h.id,
                           pulses_per_kwh=h.pulses_per_kwh) for h in mine["households"]]
        out.append(GatewayConfig(id=g.id, data_dir=data_root / g.id,
                                 summary_interval_s=summary_interval_s, source="sim",
                                 mqtt=MqttConfig(url=mqtt_url, username=g.id), sim=sim,
                                 devices=tuple(devices)))
    return out


def write_town(out_dir: Path, mqtt_url: str, seed: int = 1, speed: float = 1.0,
               sim_start: float | None = None, wall_anchor: float | None = None,
               sim_minutes: float | None = None, summary_interval_s: float = 60.0,
               gateways: int = 3, nodes: int = 30, residents: int = 20,
               households: int = 20) -> tuple[Town, list[Path]]:
    """Write <gw>.toml for every gateway, basemap.geojson (streets) and buildings.geojson;
    return the town and the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sim_start = sim_epoch() if sim_start is None else sim_start
    town = build_town(seed, gateways=gateways, nodes=nodes, residents=residents,
                      households=households, sim_start=sim_start)
    sim = SimSourceConfig(town_seed=seed, speed=speed, sim_start=sim_start,
                          wall_anchor=time.time() if wall_anchor is None else wall_anchor,
                          sim_minutes=sim_minutes, gateways=gateways, nodes=nodes,
                          residents=residents, households=households)
    paths = []
    for cfg in gateway_configs(town, out_dir, mqtt_url, sim, summary_interval_s):
        p = out_dir / f"{cfg.id}.toml"
        p.write_text(dump(cfg), encoding="utf-8")
        paths.append(p)
    (out_dir / "basemap.geojson").write_text(json.dumps(town.basemap()), encoding="utf-8")
    (out_dir / "buildings.geojson").write_text(json.dumps(town.buildings_geojson()),
                                               encoding="utf-8")
    return town, paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("configs", help="write a gateway configuration per simulated gateway",
                       description="Write <gw>.toml for each gateway of the town, and "
                                   "basemap.geojson (streets) for the collector's maps.")
    p.add_argument("--out", required=True, help="directory to write into")
    p.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="broker URL for the gateways")
    p.add_argument("--seed", type=int, default=1, help="town seed (default 1)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="simulated seconds per real second (default 1)")
    p.add_argument("--sim-minutes", type=float, default=None,
                   help="stop producing after this many simulated minutes")
    p.add_argument("--interval", type=float, default=60.0, help="summary window, seconds")
    p.set_defaults(func=_cmd_configs)

    d = sub.add_parser("describe", help="print the town (gateways, devices, anomalies) as JSON",
                       description="Print the simulated town as JSON, with its ground truth; "
                                   "with --data-dir also write the truth to truth.jsonl there.")
    d.add_argument("--seed", type=int, default=1, help="town seed (default 1)")
    d.add_argument("--data-dir", default=None,
                   help="write DIR/truth.jsonl (every injected anomaly, unix start and end)")
    d.add_argument("--start", default=None,
                   help="local (JST) start of the simulation, e.g. 2026-08-03T09:00:00 "
                        "(default: that morning, as the demo)")
    d.add_argument("--town", default=None,
                   help="streets and buildings from an OSM XML or GeoJSON file "
                        "(default: a generated town)")
    for name, default in (("gateways", 3), ("nodes", 30), ("residents", 20),
                          ("households", 20)):
        d.add_argument(f"--{name}", type=int, default=default,
                       help=f"number of {name} (default {default})")
    d.set_defaults(func=_cmd_describe)

    s = sub.add_parser("score", help="score stored events and alerts against truth.jsonl",
                       description="Compare the events (and the alert engine's alerts, when the "
                                   "database has them) with the sim's ground truth: recall and "
                                   "delay per injected kind, precision per reported kind.")
    s.add_argument("--truth", required=True, help="truth.jsonl written by the demo or describe")
    s.add_argument("--db", required=True, help="the collector's SQLite database")
    s.add_argument("--until", type=float, default=None,
                   help="unix time the run ended (default: the last stored event); truth "
                        "starting later is not counted")
    s.add_argument("--json", action="store_true", help="print JSON instead of tables")
    s.set_defaults(func=_cmd_score)


def _cmd_configs(args: argparse.Namespace) -> int:
    _, paths = write_town(Path(args.out), args.mqtt, seed=args.seed, speed=args.speed,
                          sim_minutes=args.sim_minutes, summary_interval_s=args.interval)
    for p in paths:
        print(p)
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    from .truth import rows_for, write

    try:
        start = sim_epoch(args.start) if args.start else sim_epoch()
    except ValueError:
        raise SystemExit(f"--start: {args.start!r} is not a date and time like "
                         "2026-08-03T09:00:00") from None
    try:
        town = build_town(args.seed, gateways=args.gateways, nodes=args.nodes,
                          residents=args.residents, households=args.households,
                          town_file=args.town)
    except (OSError, ValueError) as e:
        raise SystemExit(f"--town: {e}") from None
    doc = asdict(town)
    doc.pop("streets")
    doc.pop("buildings")
    doc["start"] = start
    for r in doc["residents"]:
        r["key"] = r["key"].hex()
    doc["truth"] = [r.to_json() for r in rows_for(town, start)]
    print(json.dumps(doc, ensure_ascii=False, indent=1))
    if args.data_dir:
        path = Path(args.data_dir) / "truth.jsonl"
        n = write(path, rows_for(town, start))
        print(f"wrote {n} truth rows to {path}", file=sys.stderr)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from .score import read_alerts, read_events, score, table
    from .truth import TruthError, read

    try:
        truth = read(Path(args.truth))
        events = read_events(Path(args.db))
        alerts = read_alerts(Path(args.db))
    except (OSError, TruthError) as e:
        raise SystemExit(str(e)) from None
    except sqlite3.Error as e:
        raise SystemExit(f"{args.db}: not a collector database ({e})") from None
    until = args.until if args.until is not None else max((e.ts for e in events), default=None)
    results = {"events": score(truth, events, until)}
    if alerts is not None:
        results["alerts"] = score(truth, alerts, until)
    if args.json:
        print(json.dumps({name: _score_json(s) for name, s in results.items()}, indent=1))
        return 0
    for name, s in results.items():
        print(f"## {name} against {args.truth}\n")
        print("\n".join(table(s)) + "\n")
    return 0


def _score_json(s: Any) -> dict[str, Any]:
    return {"truth": {k: {"injected": v.truth, "found": v.found, "recall": v.recall,
                          "delays_s": [round(x, 1) for x in v.delays]}
                      for k, v in s.by_truth.items()},
            "reported": {k: {"reported": v.reported, "true": v.true, "explained": v.explained,
                             "false": v.false, "unjudged": v.unjudged,
                             "precision": v.precision} for k, v in s.by_report.items()}}
