"""`machimori sim ...`: the simulated town and its devices."""

from __future__ import annotations

import argparse
import importlib

# Modules adding `sim` sub-commands: each defines register(subparsers).
SIM_COMMAND_MODULES = [
    "sim.commands",
    "sim.routeb",
    "sim.meter_bridge",
]


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sim", help="simulated town: describe it, run its devices",
                       description="Simulated town commands.")
    s_sub = s.add_subparsers(dest="sim_command", metavar="SIM_COMMAND")
    s_sub.required = True
    for name in SIM_COMMAND_MODULES:
        importlib.import_module(name).register(s_sub)
