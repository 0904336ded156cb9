"""`machimori collector shop add|point|list`: shops and stamp points of the cool-stamp programme."""

from __future__ import annotations

import argparse
from typing import Any

from .cli import add_db_argument, with_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shop", help="shops and stamp points (cool-stamp programme)",
                       description="Shops taking part in the heat service (docs/shops.md).")
    psub = p.add_subparsers(dest="shop_command", metavar="SHOP_COMMAND")
    psub.required = True
    a = psub.add_parser("add", help="add or update a shop", description="Add or update a shop; "
                        "its user (role shop) sees its dashboard at /shop.")
    add_db_argument(a)
    a.add_argument("--id", required=True, help="shop id: lower-case letters, digits, -")
    a.add_argument("--name", required=True, help="the shop's name as residents know it")
    a.add_argument("--username", required=True, help="the account (role shop) that runs it")
    a.add_argument("--coupon", required=True, help="what a full card gets, e.g. 'かき氷 50円引き'")
    a.add_argument("--stamps", type=int, default=3, help="stamps per coupon (default 3)")
    a.add_argument("--lat", type=float, default=None, help="latitude")
    a.add_argument("--lon", type=float, default=None, help="longitude")
    a.add_argument("--gw", default=None, help="nearest gateway: its people counts are shown")
    a.add_argument("--coolspot", default=None, help="its id in the cool-spot registry, if any")
    a.set_defaults(func=_cmd_add)
    pt = psub.add_parser("point", help="add a stamp point; prints its QR code URL path",
                         description="A place that gives stamps on hot days (a cool spot or a "
                                     "shop's cool corner). Prints /stamp/<token> for its QR code.")
    add_db_argument(pt)
    pt.add_argument("--id", required=True, help="point id")
    pt.add_argument("--name", required=True, help="name shown on the stamp page")
    pt.add_argument("--kind", choices=["coolspot", "shop"], default="coolspot",
                    help="coolspot (default) or shop")
    pt.add_argument("--shop", default=None, help="the shop it belongs to (its dashboard counts it)")
    pt.set_defaults(func=_cmd_point)
    ls = psub.add_parser("list", help="list shops", description="List shops and stamp points.")
    add_db_argument(ls)
    ls.set_defaults(func=_cmd_list)


def _run(url: str, work: Any) -> int:
    from .shops import ShopError

    return with_db(url, work, (ShopError,))


def _cmd_add(args: argparse.Namespace) -> int:
    from .shops import add_shop

    def work(db: Any) -> str:
        add_shop(db, args.id, args.name, args.username, args.coupon, args.stamps, args.lat,
                 args.lon, args.gw, args.coolspot)
        return f"shop {args.id}: {args.name}"
    return _run(args.db, work)


def _cmd_point(args: argparse.Namespace) -> int:
    from .shops import add_point

    return _run(args.db, lambda db: "/stamp/" + add_point(db, args.id, args.name, args.kind,
                                                          args.shop))


def _cmd_list(args: argparse.Namespace) -> int:
    def work(db: Any) -> str:
        shops = [f"{r['id']}\t{r['name']}\t{r['username']}\t{r['coupon']}"
                 for r in db.execute("SELECT * FROM shops ORDER BY id").fetchall()]
        points = [f"  point {r['id']}\t{r['name']}\t{r['kind']}\t/stamp/{r['token']}"
                  for r in db.execute("SELECT * FROM stamp_points ORDER BY id").fetchall()]
        return "\n".join(shops + points) or "no shops"
    return _run(args.db, work)
