"""`machimori edge ...`: build a device bundle, flash it with mpremote, regenerate the table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from hw.boards import ROLES

    edge = sub.add_parser("edge", help="edge devices: build and flash firmware bundles",
                          description="Build and flash the MicroPython firmware (heat node, "
                          "wearable tag, meter bridge, actuator). See docs/installer-firmware.md.")
    e_sub = edge.add_subparsers(dest="edge_command", metavar="EDGE_COMMAND")
    e_sub.required = True

    b = e_sub.add_parser("build", help="compile a role's firmware and its config into a bundle",
                         description="Compile the role's modules with mpy-cross and write the "
                         "validated device configuration (board pins + your settings).")
    b.add_argument("--board", required=True, help="board name (see `machimori edge boards`)")
    b.add_argument("--role", required=True, choices=list(ROLES))
    b.add_argument("--config", type=Path, help="JSON file with this device's settings "
                   "(e.g. bindkey, key, interval_s); pins come from the board")
    b.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="one setting (VALUE parsed as JSON, else text); repeatable")
    b.add_argument("--out", type=Path, default=Path("build/edge"), help="bundle directory")
    b.set_defaults(func=_build)

    f = e_sub.add_parser("flash", help="copy a bundle to a device over USB with mpremote",
                         description="Empty /lib, copy the bundle's files, set the clock "
                         "(tags), reset. The board must already run MicroPython >= 1.23.")
    f.add_argument("--bundle", type=Path, default=Path("build/edge"))
    f.add_argument("--port", help="serial port, e.g. /dev/ttyACM0 (default: mpremote's auto)")
    f.add_argument("--dry-run", action="store_true", help="print the mpremote command only")
    f.set_defaults(func=_flash)

    t = e_sub.add_parser("table", help="regenerate edge/lib/bthome_table.py from the contract")
    t.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    t.set_defaults(func=_table)

    s = e_sub.add_parser("boards", help="list supported boards and their pins per role")
    s.set_defaults(func=_boards)


def _settings(args: argparse.Namespace) -> dict[str, object]:
    out: dict[str, object] = {}
    if args.config:
        out.update(json.loads(args.config.read_text()))
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set needs FIELD=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _build(args: argparse.Namespace) -> int:
    from hw.firmware.bundle import BuildError, build

    try:
        out = build(args.board, args.role, _settings(args), args.out)
    except BuildError as e:
        print(f"edge build: {e}")
        return 2
    print(f"edge build: {args.role} for {args.board} in {out}")
    return 0


def _flash(args: argparse.Namespace) -> int:
    import shlex
    import subprocess

    from hw.firmware.bundle import flash_commands

    if not (args.bundle / "bundle.json").exists():
        print(f"edge flash: no bundle in {args.bundle}; run `machimori edge build` first")
        return 2
    cmd = flash_commands(args.bundle, args.port)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    return subprocess.call(cmd)


def _table(args: argparse.Namespace) -> int:
    from hw.firmware import table

    if args.check:
        current = table.TABLE_PATH.read_text() if table.TABLE_PATH.exists() else ""
        if current != table.render():
            print(f"{table.TABLE_PATH} is out of date: run `machimori edge table`")
            return 1
        return 0
    print(f"wrote {table.write()}")
    return 0


def _boards(args: argparse.Namespace) -> int:
    from hw.boards import BOARDS

    for b in BOARDS.values():
        print(f"{b.name}: {b.title} ({b.chip})")
        for role, pins in b.pins.items():
            print(f"  {role}: " + ", ".join(f"{k}={v}" for k, v in pins.items()))
    return 0
