"""`machimori collector actuator add|list|log`: register cool-spot actuators, read the log."""

from __future__ import annotations

import argparse
import json
import time

from .cli import add_db_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("actuator", help="cool-spot actuators (mist, fans): register, list, log",
                       description="Register the actuators the controller switches when live "
                                   "WBGT near them crosses their threshold (docs/actuators.md).")
    asub = p.add_subparsers(dest="actuator_command", metavar="ACTUATOR_COMMAND")
    asub.required = True
    add = asub.add_parser("add", help="register (or update) an actuator",
                          description="Register an actuator by its device id on its gateway.")
    add_db_argument(add)
    add.add_argument("--id", required=True, help="device id, as in the gateway's [[device]]")
    add.add_argument("--gw", required=True, help="the gateway it is wired to, e.g. gw-01")
    add.add_argument("--lat", type=float, required=True, help="latitude (decimal degrees)")
    add.add_argument("--lon", type=float, required=True, help="longitude (decimal degrees)")
    add.add_argument("--on-wbgt", type=float, required=True,
                     help="switch on when live WBGT nearby reaches this (°C), e.g. 28")
    add.add_argument("--off-wbgt", type=float, default=None,
                     help="switch off below this (default: 1 °C under --on-wbgt)")
    add.add_argument("--radius-m", type=float, default=150.0,
                     help="heat sensors within this distance count (default 150)")
    add.add_argument("--min-interval-s", type=float, default=300.0,
                     help="never send commands faster than this (default 300)")
    add.add_argument("--hold-s", type=int, default=900,
                     help="each 'on' lasts at most this long unless renewed (default 900)")
    add.add_argument("--name", default="", help="a name for the map")
    add.add_argument("--manual", action="store_true",
                     help="no automatic control: admin commands only")
    add.set_defaults(func=_cmd_add)
    ls = asub.add_parser("list", help="list actuators", description="List actuators.")
    add_db_argument(ls)
    ls.set_defaults(func=_cmd_list)
    lg = asub.add_parser("log", help="show the command log",
                         description="Every command: when, who or what, why, and the answer.")
    add_db_argument(lg)
    lg.add_argument("--actuator", default=None, help="only this actuator")
    lg.set_defaults(func=_cmd_log)


def _db(url: str):
    from .store import connect, migrate

    db = connect(url)
    migrate(db)
    return db


def _cmd_add(args: argparse.Namespace) -> int:
    from .actuators import ActuatorError
    from .actuators import register as reg

    db = _db(args.db)
    try:
        a = reg(db, id=args.id, gw=args.gw, lat=args.lat, lon=args.lon, on_wbgt=args.on_wbgt,
                off_wbgt=args.off_wbgt, radius_m=args.radius_m,
                min_interval_s=args.min_interval_s, hold_s=args.hold_s, name=args.name,
                auto=not args.manual, now=time.time())
    except ActuatorError as exc:
        print(f"actuator add: {exc}")
        return 2
    finally:
        db.close()
    print(f"actuator {a.id} on {a.gw}: on at WBGT >= {a.on_wbgt}, off below {a.off_wbgt}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .actuators import all_actuators

    db = _db(args.db)
    for a in all_actuators(db):
        print(f"{a.id}\t{a.gw}\t{a.state}\ton>={a.on_wbgt}\toff<{a.off_wbgt}\t"
              f"{'auto' if a.auto else 'manual'}")
    db.close()
    return 0


def _cmd_log(args: argparse.Namespace) -> int:
    from .actuators import command_log

    db = _db(args.db)
    for row in command_log(db, args.actuator, limit=1000):
        print(json.dumps(row, ensure_ascii=False))
    db.close()
    return 0
