"""`machimori collector ...`: the ingest worker and the web server."""

from __future__ import annotations

import argparse
import importlib

# Modules adding `collector` sub-commands: each defines register(subparsers).
COLLECTOR_COMMAND_MODULES = [
    "collector.service",
    "collector.commands",
    "collector.ngsi",
]


def register(sub: argparse._SubParsersAction) -> None:
    col = sub.add_parser("collector", help="collector: ingest, store, web and API",
                         description="Collector commands.")
    col_sub = col.add_subparsers(dest="collector_command", metavar="COLLECTOR_COMMAND")
    col_sub.required = True
    for name in COLLECTOR_COMMAND_MODULES:
        importlib.import_module(name).register(col_sub)
