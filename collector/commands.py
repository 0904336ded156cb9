"""`machimori collector serve|user|token`: the web server alone, and accounts for people and programs."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from .cli import add_db_argument, with_db


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
    # Offboarding: each of these also ends the user's sessions (except enable).
    for name, help_ in (("disable", "disable an account and sign it out everywhere"),
                        ("enable", "enable a disabled account"),
                        ("logout", "end every session of a user (sign out everywhere)")):
        c = usub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".")
        add_db_argument(c)
        c.add_argument("--username", required=True, help="the account")
        c.set_defaults(func=_cmd_user_change, change=name)
    role = usub.add_parser("role", help="change a user's role (ends their sessions)",
                           description="Change a user's role; their sessions end.")
    add_db_argument(role)
    role.add_argument("--username", required=True, help="the account")
    role.add_argument("--role", required=True, help="admin, planner, responder or viewer")
    role.set_defaults(func=_cmd_user_change, change="role")
    pw = usub.add_parser("passwd", help="set a new password (ends their sessions)",
                         description="Reset a user's password; their sessions end.")
    add_db_argument(pw)
    pw.add_argument("--username", required=True, help="the account")
    pw.add_argument("--password-stdin", action="store_true",
                    help="read the password from standard input (else: prompt)")
    pw.set_defaults(func=_cmd_user_change, change="passwd")

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
    tadd.add_argument("--role", required=True,
                      help="admin, planner, responder, viewer, or device (a phone's OwnTracks)")
    tadd.set_defaults(func=_cmd_token_add)
    tls = tsub.add_parser("list", help="list API tokens", description="List API tokens "
                          "(never the tokens themselves): id, name, role, last use, revoked.")
    add_db_argument(tls)
    tls.set_defaults(func=_cmd_token_list)
    trev = tsub.add_parser("revoke", help="revoke an API token",
                           description="Revoke an API token: it stops working at once.")
    add_db_argument(trev)
    trev.add_argument("--id", type=int, required=True, help="the token's id (token list)")
    trev.set_defaults(func=_cmd_token_revoke)


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


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        print("the passwords differ", file=sys.stderr)
        return None
    return password


def _with_db(url: str, change: Callable[[Any], str]) -> int:
    """Run one account change; print what it did, or the error (exit 2)."""
    from .users import UserError

    return with_db(url, change, (UserError,))


def _cmd_user_add(args: argparse.Namespace) -> int:
    from .users import add_user

    password = _read_password(args.password_stdin)
    if password is None:
        return 2

    def change(db: Any) -> str:
        add_user(db, args.username, password, args.role)
        return f"added {args.username} ({args.role})"
    return _with_db(args.db, change)


def _cmd_user_change(args: argparse.Namespace) -> int:
    from . import users

    password = _read_password(args.password_stdin) if args.change == "passwd" else ""
    if password is None:
        return 2

    def change(db: Any) -> str:
        if args.change in ("disable", "enable"):
            users.set_disabled(db, args.username, args.change == "disable")
        elif args.change == "role":
            users.set_role(db, args.username, args.role)
        elif args.change == "passwd":
            users.set_password(db, args.username, password)
        else:
            return f"{args.username}: {users.end_sessions(db, args.username)} session(s) ended"
        return f"{args.username}: {args.change} done"
    return _with_db(args.db, change)


def _cmd_user_list(args: argparse.Namespace) -> int:
    from .users import list_users

    db = _db(args.db)
    for _, name, role, disabled in list_users(db):
        print(f"{name}\t{role}" + ("\tdisabled" if disabled else ""))
    db.close()
    return 0


def _cmd_token_add(args: argparse.Namespace) -> int:
    from .users import add_token

    return _with_db(args.db, lambda db: add_token(db, args.name, args.role))


def _cmd_token_list(args: argparse.Namespace) -> int:
    from .users import list_tokens

    def show(db: Any) -> str:
        return "\n".join(f"{r['id']}\t{r['name']}\t{r['role']}\t"
                         f"{'revoked' if r['revoked'] else 'active'}\t"
                         f"last used {int(r['last_used']) if r['last_used'] else '-'}"
                         for r in list_tokens(db)) or "no tokens"
    return _with_db(args.db, show)


def _cmd_token_revoke(args: argparse.Namespace) -> int:
    from .users import revoke_token

    def change(db: Any) -> str:
        revoke_token(db, args.id)
        return f"token {args.id} revoked"
    return _with_db(args.db, change)


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
