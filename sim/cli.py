"""`machimori sim ...`: the simulated town and its devices."""

from __future__ import annotations

import argparse

# Modules adding `sim` sub-commands: each defines register(subparsers).
SIM_COMMAND_MODULES = [
    "sim.commands",
    "sim.routeb",
    "sim.meter_bridge",
    "sim.actuator",
]


def register(sub: argparse._SubParsersAction) -> None:
    from machimori.cli import register_group

    register_group(
        sub,
        "sim",
        "simulated town: describe it, run its devices",
        "Simulated town commands.",
        SIM_COMMAND_MODULES,
    )
