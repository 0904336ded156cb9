"""`machimori collector serve|user|token`: the web server alone, and accounts for people and programs."""

from __future__ import annotations

import argparse
import getpass
import sys

from .cli import add_db_argument


def register(sub: argparse._SubParsersAction) -> None:
    from machimori import logs

    s = sub.add_parser("serve", help="serve the web pages and the API (production WSGI server)",
                       description="Serve the web app with waitress (no ingest): run as many "
                                   "as needed behind a reverse proxy, on one database.")
    add_db_argument(s)
    s.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    s.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    s.add_argument("--basemap", default=None, help="GeoJSON file of streets for the maps")
    logs.add_arguments(s)
    s.set_defaults(func=_cmd_serve)

    u = sub.add_parser("user", help="manage user accounts", description="User accounts.")
    usub = u.add_subparsers(dest="user_command", metavar="USER_COMMAND")
    usub.required = True
    add = usub.add_parser("add", help="add a user", description="Add a user with a role.")
    add_db_argument(add)
    add.add_argument("--username", required=True, help="3–64 letters, digits or _ . @ -")
    add.add_argument("--role", required=True,
                     help="admin, planner, responder or viewer")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from standard input (else: prompt)")
    add.set_defaults(func=_cmd_user_add)
    ls = usub.add_parser("list", help="list users", description="List users and roles.")
    add_db_argument(ls)
    ls.set_defaults(func=_cmd_user_list)

    r = sub.add_parser("retention", help="fold old summary windows into hourly rows",
                       description="Down-sample summaries older than --keep-days into hourly "
                                   "rows (summaries_hourly) and delete them; optionally delete "
                                   "old events. Safe to run as often as you like (cron).")
    add_db_argument(r)
    r.add_argument("--keep-days", type=float, required=True,
                   help="keep raw windows this many days")
    r.add_argument("--events-keep-days", type=float, default=None,
                   help="also delete events older than this (default: keep them)")
    r.set_defaults(func=_cmd_retention)

    t = sub.add_parser("token", help="manage API tokens", description="API tokens.")
    tsub = t.add_subparsers(dest="token_command", metavar="TOKEN_COMMAND")
    tsub.required = True
    tadd = tsub.add_parser("add", help="create an API token (printed once)",
                           description="Create an API token for an integration; it is shown "
                                       "once and stored only as a hash.")
    add_db_argument(tadd)
    tadd.add_argument("--name", required=True, help="what uses it, e.g. prometheus")
    tadd.add_argument("--role", required=True, help="admin, planner, responder or viewer")
    tadd.set_defaults(func=_cmd_token_add)


def _db(url: str):
    from .store import connect, migrate

    db = connect(url)
    migrate(db)
    return db


def _cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from waitress import serve

    from machimori import logs

    from .app import create_app

    logs.setup(args.log_level, args.log_format)
    app = create_app({"DATABASE": args.db, "BASEMAP": args.basemap})
    logging.getLogger("machimori.collector").info("serving on http://%s:%d/", args.host,
                                                  args.port)
    serve(app, host=args.host, port=args.port, threads=args.threads)
    return 0


def _cmd_user_add(args: argparse.Namespace) -> int:
    from .users import UserError, add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 2
    db = _db(args.db)
    try:
        add_user(db, args.username, password, args.role)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(f"added {args.username} ({args.role})")
    return 0


def _cmd_user_list(args: argparse.Namespace) -> int:
    from .users import list_users

    db = _db(args.db)
    for _, name, role, disabled in list_users(db):
        print(f"{name}\t{role}" + ("\tdisabled" if disabled else ""))
    db.close()
    return 0


def _cmd_token_add(args: argparse.Namespace) -> int:
    from .users import UserError, add_token

    db = _db(args.db)
    try:
        token = add_token(db, args.name, args.role)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(token)
    return 0


def _cmd_retention(args: argparse.Namespace) -> int:
    import time

    from .retention import downsample, expire_by_sensitivity, expire_events

    if args.keep_days <= 0:
        print("error: --keep-days must be positive", file=sys.stderr)
        return 2
    db = _db(args.db)
    try:
        gone = expire_by_sensitivity(db, time.time())
        print("deleted past their class's retention: "
              + ", ".join(f"{n} {t}" for t, n in gone.items()))
        res = downsample(db, time.time() - args.keep_days * 86400)
        print(f"folded {res.summaries_removed} windows into {res.hours_written} hourly rows")
        if args.events_keep_days is not None:
            n = expire_events(db, time.time() - args.events_keep_days * 86400)
            print(f"deleted {n} events")
    finally:
        db.close()
    return 0
