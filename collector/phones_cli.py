"""`machimori collector phone list|link|region|unbind`: residents' phones (OwnTracks)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .cli import add_db_argument, with_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("phone", help="phones and GPS terminals reporting with OwnTracks",
                       description="Phones and GPS terminals (docs/owntracks.md).")
    psub = p.add_subparsers(dest="phone_command", metavar="PHONE_COMMAND")
    psub.required = True
    ls = psub.add_parser("list", help="list phones, unassigned first",
                         description="List the phones that have reported, unassigned first.")
    add_db_argument(ls)
    ls.set_defaults(func=_cmd_list)
    ln = psub.add_parser("link", help="assign a phone to a person under watch",
                         description="Assign a phone to a person under watch (or --unassign).")
    add_db_argument(ln)
    ln.add_argument("--user", required=True, help="OwnTracks user (X-Limit-U or topic)")
    ln.add_argument("--device", required=True, help="OwnTracks device (X-Limit-D or topic)")
    who = ln.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", help="the person's id")
    who.add_argument("--unassign", action="store_true", help="take the phone off its person")
    ln.add_argument("--max-silence", type=float, default=None,
                    help="hours without a report before phone_silent (default 6)")
    ln.set_defaults(func=_cmd_link)
    rg = psub.add_parser("region", help="add or move a person's region (home, day care)",
                         description="A circle around a place that matters for a person: the "
                                     "collector derives enter/leave from location reports.")
    add_db_argument(rg)
    rg.add_argument("--person", required=True, help="the person's id")
    rg.add_argument("--name", required=True, help="e.g. home, daycare")
    rg.add_argument("--lat", type=float, required=True, help="latitude")
    rg.add_argument("--lon", type=float, required=True, help="longitude")
    rg.add_argument("--radius", type=float, default=100.0, help="metres (default 100)")
    rg.set_defaults(func=_cmd_region)
    ub = psub.add_parser("unbind", help="let a phone report with a new device token",
                         description="An HTTP phone is bound to the first device token it used; "
                                     "after revoking that token, unbind the phone so its new "
                                     "token is accepted.")
    add_db_argument(ub)
    ub.add_argument("--user", required=True, help="OwnTracks user")
    ub.add_argument("--device", required=True, help="OwnTracks device")
    ub.set_defaults(func=_cmd_unbind)


def _run(url: str, work: Any) -> int:
    from .phones import PhoneError

    return with_db(url, work, (PhoneError,))


def _cmd_list(args: argparse.Namespace) -> int:
    from .phones import list_phones

    def show(db: Any) -> str:
        now = time.time()
        return "\n".join(
            f"{r['username']}/{r['device']}\t{r['person'] or 'unassigned'}\t"
            f"last report {int((now - r['last_seen']) // 60)} min ago via {r['via']}"
            + ("\tSILENT" if r["silent_since"] else "") for r in list_phones(db)) or "no phones"
    return _run(args.db, show)


def _cmd_link(args: argparse.Namespace) -> int:
    from .phones import link

    def work(db: Any) -> str:
        silence = args.max_silence * 3600 if args.max_silence is not None else None
        link(db, args.user, args.device, None if args.unassign else args.person, silence)
        return f"{args.user}/{args.device} → {'unassigned' if args.unassign else args.person}"
    return _run(args.db, work)


def _cmd_region(args: argparse.Namespace) -> int:
    from .phones import add_region

    def work(db: Any) -> str:
        add_region(db, args.person, args.name, args.lat, args.lon, args.radius)
        return f"region {args.name!r} of {args.person}: {args.radius:g} m"
    return _run(args.db, work)


def _cmd_unbind(args: argparse.Namespace) -> int:
    from .phones import forget_binding

    def work(db: Any) -> str:
        forget_binding(db, args.user, args.device)
        return f"{args.user}/{args.device} will accept its next device token"
    return _run(args.db, work)
