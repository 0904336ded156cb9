"""The `machimori` command: one entry point, a sub-command per area.

Each area registers its own sub-commands (``register(subparsers)``) so that this file only lists
them; heavy imports happen inside the command functions, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, ...) — each module defines register(subparsers). Add one line per area.
COMMAND_MODULES = [
    "machimori.demo",
    "gateway.cli",
    "collector.cli",
    "sim.cli",
    "hw.firmware.cli",
    "gateway.kernels.cli",
    "machimori.heat_cli",
]


def register_group(sub: argparse._SubParsersAction, name: str, help_: str, description: str,
                   modules: list[str]) -> None:
    """A sub-command with sub-commands of its own, each module adding some (register(sub))."""
    group = sub.add_parser(name, help=help_, description=description)
    inner = group.add_subparsers(dest=f"{name}_command", metavar=f"{name.upper()}_COMMAND")
    inner.required = True
    for module in modules:
        importlib.import_module(module).register(inner)


def subgroup(sub: argparse._SubParsersAction, name: str, help_: str,
             description: str) -> argparse._SubParsersAction:
    """The sub-commands of group `name`, created by whichever module asks first, so several
    modules can add commands to one group (e.g. `heat`)."""
    if name in sub.choices:
        return next(a for a in sub.choices[name]._actions
                    if isinstance(a, argparse._SubParsersAction))
    group = sub.add_parser(name, help=help_, description=description)
    inner = group.add_subparsers(dest=f"{name}_command", metavar=f"{name.upper()}_COMMAND")
    inner.required = True
    return inner


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="machimori",
        description="まちもり machimori — heat, watch and local-resource services for a town.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except KeyboardInterrupt:
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
