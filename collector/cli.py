"""`machimori collector ...`: the ingest worker and the web server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

# Modules adding `collector` sub-commands: each defines register(subparsers).
COLLECTOR_COMMAND_MODULES = [
    "collector.service",
    "collector.commands",
    "collector.ngsi",
    "collector.phones_cli",
    "collector.shops_cli",
    "collector.coolspots.cli",
    "collector.watch.commands",
    "collector.resources.cli",
    "collector.actuator_cli",
]


DEFAULT_DB = "data/collector.sqlite"


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """The one --db option of every collector command."""
    parser.add_argument("--db", default=DEFAULT_DB,
                        help="SQLite database file, or a postgresql:// URL")


def with_db(url: str, work: Callable[[Any], str], errors: tuple[type[Exception], ...]) -> int:
    """Run one command on the (migrated) database: print what `work` returns, or the error
    (exit 2) when it raises one of `errors` — a user's mistake, not a crash."""
    from .store import connect, migrate

    db = connect(url)
    try:
        migrate(db)
        print(work(db))
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from machimori.cli import register_group

    register_group(
        sub,
        "collector",
        "collector: ingest, store, web and API",
        "Collector commands.",
        COLLECTOR_COMMAND_MODULES,
    )
