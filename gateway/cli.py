"""`machimori gw ...`: the gateway daemon and the installer's commands."""

from __future__ import annotations

import argparse

# Modules adding `gw` sub-commands: each defines register(gw_subparsers). One line per module.
GW_COMMAND_MODULES = [
    "gateway.daemon",
    "gateway.installer_radio",
    "gateway.installer",
]


def register(sub: argparse._SubParsersAction) -> None:
    from machimori.cli import register_group

    register_group(
        sub,
        "gw",
        "gateway: run the daemon, installer tools",
        "Gateway daemon and installer commands.",
        GW_COMMAND_MODULES,
    )
