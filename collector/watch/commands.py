"""`machimori collector watch ...`: persons, responders, consent and the key ring, for admins."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from ..cli import add_db_argument


def register(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("watch", help="the watch: persons, responders, consent (docs/watch.md)",
                       description="Persons under watch, responders and consent. Names, "
                                   "addresses and numbers are sealed with the watch key ring.")
    ws = w.add_subparsers(dest="watch_command", metavar="WATCH_COMMAND")
    ws.required = True

    def cmd(name: str, help_: str, fn: Callable[[argparse.Namespace], int]
            ) -> argparse.ArgumentParser:
        p = ws.add_parser(name, help=help_, description=help_)
        add_db_argument(p)
        p.add_argument("--watch-key-file", default=None,
                       help="key ring (default: <db>.watch-key; or MACHIMORI_WATCH_KEYS)")
        p.set_defaults(func=fn)
        return p

    p = cmd("person", "add a person under watch", _person)
    p.add_argument("--id", required=True, help="the id tags and events use, e.g. person-003")
    p.add_argument("--name", required=True, help="name (sealed)")
    p.add_argument("--household", default=None, help="household id (created if new)")
    p.add_argument("--address", default=None, help="the household's address (sealed)")
    p.add_argument("--phone", default=None, help="the resident's own phone, for the 'are you "
                                                 "all right?' SMS (sealed)")
    p = cmd("link", "link a tag, meter or phone to a person or household", _link)
    p.add_argument("--device", required=True, help="device id as the gateway reports it")
    p.add_argument("--kind", required=True, choices=["tag", "meter", "phone"], help="device kind")
    p.add_argument("--person", default=None, help="person id (tags, phones)")
    p.add_argument("--household", default=None, help="household id (meters)")
    p = cmd("consent", "record consent: who agreed, to what, now", _consent)
    p.add_argument("--person", required=True, help="person id")
    p.add_argument("--given-by", required=True, help="who agreed: 本人, 長女 …")
    p.add_argument("--scope", required=True, help="what to: e.g. tag,meter,notify")
    p = cmd("withdraw", "consent withdrawn: erase the person's data everywhere", _withdraw)
    p.add_argument("--person", required=True, help="person id")
    p = cmd("responder", "add a responder", _responder)
    p.add_argument("--name", required=True, help="name (sealed)")
    p.add_argument("--tier", type=int, required=True, choices=[1, 2, 3, 4],
                   help="1 family, 2 民生委員・町内会, 3 地域包括支援センター, 4 市役所")
    p.add_argument("--org", required=True,
                   choices=["family", "minsei", "chonaikai", "houkatsu", "city"], help="who")
    p.add_argument("--username", default=None, help="their sign-in account, for the app")
    p.add_argument("--phone", default=None, help="SMS number (sealed)")
    p.add_argument("--email", default=None, help="e-mail address (sealed)")
    p.add_argument("--webhook-url", default=None,
                   help="webhook (secret from MACHIMORI_WEBHOOK_SECRET, sealed)")
    p.add_argument("--duty", default=None, help="duty hours, e.g. 'mon-fri 08:30-17:15' "
                                                "(default: always)")
    p = cmd("assign", "assign a responder to a person", _assign)
    p.add_argument("--person", required=True, help="person id")
    p.add_argument("--responder", type=int, required=True, help="responder id")
    cmd("rekey", "re-seal every personal field under the key ring's first key", _rekey)
    p = cmd("policy", "set the escalation chain of a severity", _policy)
    p.add_argument("--severity", type=int, required=True, choices=[1, 2, 3], help="1, 2 or 3")
    p.add_argument("--steps", required=True,
                   help="tier:wait_s, in order, e.g. '1:300,2:600,3:900,4:1800'")
    p.add_argument("--renotify", type=float, required=True,
                   help="remind an acknowledged, unresolved alert every this many seconds")
    p.add_argument("--ask", type=float, default=0.0,
                   help="seconds the resident has to answer, for rules that ask first")


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from ..store import connect, migrate
    from . import crypto

    keys = crypto.load(args.watch_key_file, args.db)
    db = connect(args.db)
    migrate(db)
    return db, keys


def _run(args: argparse.Namespace, fn: Callable[[Any, Any], str]) -> int:
    from .crypto import WatchKeyError
    from .people import WatchError

    try:
        db, keys = _open(args)
    except WatchKeyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        print(fn(db, keys))
    except (WatchError, WatchKeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        db.close()
    return 0


def _person(args: argparse.Namespace) -> int:
    from .people import add_household, add_person

    def fn(db: Any, keys: Any) -> str:
        now = time.time()
        if args.household and not db.execute("SELECT 1 FROM watch_households WHERE id = ?",
                                              (args.household,)).fetchone():
            add_household(db, keys, args.household, args.address, now)
        add_person(db, keys, args.id, args.name, now, household=args.household,
                   phone_number=args.phone)
        return f"added person {args.id}"
    return _run(args, fn)


def _link(args: argparse.Namespace) -> int:
    from .people import link_device

    def fn(db: Any, keys: Any) -> str:
        link_device(db, args.device, args.kind, time.time(), args.person, args.household)
        return f"linked {args.device}"
    return _run(args, fn)


def _consent(args: argparse.Namespace) -> int:
    from .people import add_consent

    return _run(args, lambda db, keys: "consent "
                + str(add_consent(db, args.person, args.given_by, args.scope, time.time())))


def _withdraw(args: argparse.Namespace) -> int:
    from .people import withdraw_consent

    def fn(db: Any, keys: Any) -> str:
        gone = withdraw_consent(db, args.person, "cli:" + os.environ.get("USER", "admin"),
                                time.time())
        return "erased: " + ", ".join(f"{n} {t}" for t, n in sorted(gone.items()) if n)
    return _run(args, fn)


def _responder(args: argparse.Namespace) -> int:
    from .people import add_responder

    def fn(db: Any, keys: Any) -> str:
        rid = add_responder(db, keys, args.name, args.tier, args.org, time.time(),
                            username=args.username, phone_number=args.phone, email=args.email,
                            webhook_url=args.webhook_url,
                            webhook_secret=os.environ.get("MACHIMORI_WEBHOOK_SECRET"),
                            duty=args.duty)
        return f"responder {rid}"
    return _run(args, fn)


def _assign(args: argparse.Namespace) -> int:
    from .people import assign

    def fn(db: Any, keys: Any) -> str:
        assign(db, args.person, args.responder)
        return f"assigned responder {args.responder} to {args.person}"
    return _run(args, fn)


def _rekey(args: argparse.Namespace) -> int:
    from .people import rekey

    return _run(args, lambda db, keys: f"re-sealed {rekey(db, keys)} values under "
                                       f"{keys.current}")


def _policy(args: argparse.Namespace) -> int:
    from .engine import Policy, Step
    from .people import WatchError
    from .state import save_policy

    def fn(db: Any, keys: Any) -> str:
        try:
            steps = [(int(t), float(w)) for t, w in
                     (part.split(":") for part in args.steps.split(","))]
        except ValueError:
            raise WatchError("--steps: tier:wait_s pairs, e.g. '1:300,2:600'") from None
        if not steps or any(t not in (1, 2, 3, 4) or w <= 0 for t, w in steps):
            raise WatchError("--steps: tiers 1–4 with positive waits")
        if args.renotify <= 0 or args.ask < 0:
            raise WatchError("--renotify must be positive and --ask not negative")
        save_policy(db, args.severity, Policy(tuple(Step(t, w) for t, w in steps),
                                              args.renotify, args.ask))
        return f"severity {args.severity}: " + " → ".join(f"tier {t} ({w:g} s)" for t, w in steps)
    return _run(args, fn)
