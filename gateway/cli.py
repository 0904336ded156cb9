"""`machimori gw ...`: the gateway daemon and the installer's commands."""

from __future__ import annotations

import argparse
import importlib

# Modules adding `gw` sub-commands: each defines register(gw_subparsers). One line per module.
GW_COMMAND_MODULES = [
    "gateway.daemon",
    "gateway.installer_radio",
    "gateway.installer",
]


def register(sub: argparse._SubParsersAction) -> None:
    gw = sub.add_parser("gw", help="gateway: run the daemon, installer tools",
                        description="Gateway daemon and installer commands.")
    gw_sub = gw.add_subparsers(dest="gw_command", metavar="GW_COMMAND")
    gw_sub.required = True
    for name in GW_COMMAND_MODULES:
        importlib.import_module(name).register(gw_sub)
