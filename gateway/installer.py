"""Installer commands: `gw enroll`, `gw serial probe`, `gw routeb pair`, `gw status`,
`gw selftest`, `gw config validate`. Each prints what it found and exits non-zero on trouble."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from machimori.files import write_private

from .config import DEVICE_KINDS


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("enroll", help="bind a device to a place in the configuration",
                       description="Add (or replace) a device in the gateway configuration.")
    e.add_argument("--config", required=True, help="gateway TOML file (created if missing)")
    e.add_argument("--gateway-id", help="gateway id when the file is created, e.g. gw-01")
    e.add_argument("--id", required=True, help="device id, e.g. heat-001")
    e.add_argument("--kind", required=True, choices=DEVICE_KINDS)
    e.add_argument("--address", help="BLE address of a heat node (AA:BB:CC:DD:EE:FF)")
    e.add_argument("--lat", type=float, help="latitude, decimal degrees")
    e.add_argument("--lon", type=float, help="longitude, decimal degrees")
    e.add_argument("--height-m", type=float, help="sensor height above ground (1.5 m standard)")
    e.add_argument("--mounting", default="", help="pole, wall, tree, roof, ...")
    e.add_argument("--shade-class", default="", help="sun, partial, shade")
    e.add_argument("--household", help="household id (meters, tags)")
    e.add_argument("--person", help="person id (tags)")
    e.add_argument("--key", help="tag identity key or BTHome bindkey, 32 hex digits")
    e.add_argument("--port", help="serial port of a meter bridge or an actuator")
    e.add_argument("--name", default="", help="a name people know the place by")
    e.set_defaults(func=_cmd_enroll)

    s = sub.add_parser("serial", help="serial-port tools").add_subparsers(
        dest="serial_command", metavar="SERIAL_COMMAND", required=True)
    p = s.add_parser("probe", help="tell a meter bridge from a Wi-SUN module on a port")
    p.add_argument("--port", required=True, help="e.g. /dev/ttyUSB0")
    p.add_argument("--timeout", type=float, default=12.0,
                   help="seconds to listen for meter-bridge lines (they come every 10 s)")
    p.set_defaults(func=_cmd_probe)

    r = sub.add_parser("routeb", help="Route-B smart meter").add_subparsers(
        dest="routeb_command", metavar="ROUTEB_COMMAND", required=True)
    pr = r.add_parser("pair", help="store the Route-B id and password (mode 0600) and test them")
    pr.add_argument("--config", required=True, help="gateway TOML file to point at the module")
    pr.add_argument("--port", required=True, help="serial port of the Wi-SUN module")
    pr.add_argument("--rbid", required=True, help="Route-B id: 32 characters from the utility")
    pr.add_argument("--password", required=True, help="Route-B password: 12 characters")
    pr.add_argument("--credentials", help="where to store them (default: data_dir/routeb.json)")
    pr.add_argument("--no-check", action="store_true", help="store without joining the meter")
    pr.set_defaults(func=_cmd_pair)

    st = sub.add_parser("status", help="broker, outbox, last advert per device, kernel timings")
    st.add_argument("--config", required=True, help="gateway TOML file")
    st.add_argument("--json", action="store_true", help="print the raw status as JSON")
    st.set_defaults(func=_cmd_status)

    t = sub.add_parser("selftest", help="check decoders, crypto, data dir, broker, ports, radio")
    t.add_argument("--config", required=True, help="gateway TOML file")
    t.set_defaults(func=_cmd_selftest)

    c = sub.add_parser("config", help="configuration tools").add_subparsers(
        dest="config_command", metavar="CONFIG_COMMAND", required=True)
    v = c.add_parser("validate", help="check a configuration file; name the field and the fix")
    v.add_argument("--config", required=True, help="gateway TOML file")
    v.set_defaults(func=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    from .config import ConfigError, load

    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"INVALID {exc}")
        return 2
    print(f"OK gateway {cfg.id}: {len(cfg.devices)} devices, source {cfg.source}")
    return 0


def _cmd_enroll(args: argparse.Namespace) -> int:
    import tomllib

    from .config import ConfigError, dump, load, parse

    path = Path(args.config)
    try:
        if path.exists():
            cfg = load(path)
        else:
            if not args.gateway_id:
                print("configuration error: (file): new file: give --gateway-id, e.g. gw-01")
                return 2
            cfg = parse({"gateway": {"id": args.gateway_id, "data_dir": "data"}},
                        base_dir=path.parent)
        entry: dict[str, Any] = {"id": args.id, "kind": args.kind}
        for name in ("address", "lat", "lon", "height_m", "mounting", "shade_class",
                     "household", "person", "key", "port", "name"):
            v = getattr(args, name)
            if v not in (None, ""):
                entry[name] = v
        # Validate the device through the same parser as the daemon, then write the file.
        probe = tomllib.loads(dump(cfg))
        devices = [d for d in probe.get("device", []) if d["id"] != args.id]
        probe["device"] = [*devices, entry]
        new = parse(probe, base_dir=path.parent, env={})
    except ConfigError as exc:
        print(f"configuration error: {exc}")
        return 2
    new = replace(new, data_dir=cfg.data_dir)
    write_config(path, dump(new))
    print(f"enrolled {args.id} ({args.kind}) in {path}: {len(new.devices)} devices")
    return 0


def write_config(path: Path, text: str) -> None:
    """Write a dumped configuration, keeping settings that only live in the file.

    `dump` never writes the MQTT password (the parsed configuration does not know where it came
    from): the file's own `password_file` or `password` line is carried over as it was.
    """
    import tomllib

    old = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for key in ("password_file", "password"):  # whichever the installer used stays as it was
        value = old.get("mqtt", {}).get(key)
        if value:
            text = text.replace("[mqtt]\n", f"[mqtt]\n{key} = {json.dumps(value)}\n", 1)
    path.write_text(text, encoding="utf-8")


def probe_port(port: str, timeout: float) -> dict[str, Any]:
    """What is on a serial port: a Wi-SUN module answers SKVER; a bridge just talks."""
    import serial

    from machimori.contract import pulse

    with serial.Serial(port, 115200, timeout=0.1) as ser:
        ser.reset_input_buffer()
        ser.write(b"\r\nSKVER\r\n")
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            buf += ser.read(256)
            if b"EVER" in buf and buf.rstrip().endswith(b"OK"):
                ser.write(b"SKINFO\r\n")
                info = b""
                end = time.monotonic() + 3
                while b"OK" not in info and time.monotonic() < end:
                    info += ser.read(256)
                line = next((x for x in info.decode(errors="replace").splitlines()
                             if x.startswith("EINFO")), "")
                layout = "BP35A1" if line.split()[-1:] == ["FFFE"] else "BP35C2"
                ver = next(x for x in buf.decode(errors="replace").splitlines()
                           if x.startswith("EVER"))
                return {"port": port, "device": "wisun", "layout": layout,
                        "version": ver.split()[-1]}
            for raw in buf.split(b"\n")[:-1]:
                try:
                    line_ = pulse.parse(raw + b"\n")
                except pulse.PulseLineError:
                    continue
                return {"port": port, "device": "meter-bridge", "seq": line_.seq,
                        "count": line_.count}
    return {"port": port, "device": "unknown", "heard": buf[-64:].hex()}


def _cmd_probe(args: argparse.Namespace) -> int:
    try:
        found = probe_port(args.port, args.timeout)
    except OSError as exc:
        print(json.dumps({"port": args.port, "device": "error", "detail": str(exc)}))
        return 2
    print(json.dumps(found))
    return 0 if found["device"] != "unknown" else 1


def _cmd_pair(args: argparse.Namespace) -> int:
    from .config import ConfigError, RouteBConfig, dump, load
    from .routeb import RouteBClient, RouteBError

    if len(args.rbid) != 32 or len(args.password) != 12:
        print("routeb: the Route-B id has 32 characters and the password 12 (see the letter "
              "from the utility)")
        return 2
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"configuration error: {exc}")
        return 2
    layout = ""
    if not args.no_check:
        client = RouteBClient(args.port, args.rbid, args.password)
        try:
            client.open()
            client.join()
            reading = client.read()
            layout = client.layout.name if client.layout else ""
            print(f"joined the meter: {reading.power_w} W, {reading.energy_kwh} kWh "
                  f"({layout})")
        except (RouteBError, OSError) as exc:
            print(f"routeb: {exc}")
            return 1
        finally:
            client.close()
    cred = Path(args.credentials) if args.credentials else cfg.data_dir / "routeb.json"
    write_private(cred, json.dumps({"rbid": args.rbid, "password": args.password}))
    new = replace(cfg, routeb=RouteBConfig(args.port, str(cred), layout,
                                           cfg.routeb.interval_s))
    write_config(Path(args.config), dump(new))
    print(f"stored the credentials in {cred} (mode 0600)")
    return 0


def read_status(cfg: Any) -> dict[str, Any]:
    try:
        stats = json.loads((cfg.data_dir / "stats.json").read_text())
    except (OSError, ValueError):
        return {"gw": cfg.id, "running": False}
    now = time.time()
    last_seen = stats.get("last_seen", {})
    return {
        "gw": cfg.id,
        "running": not stats.get("stopped", False) and now - stats.get("wall", 0) < 10,
        "broker_connects": stats.get("connects"), "in_flight": stats.get("in_flight"),
        "outbox_depth": stats.get("outbox_depth"), "last_seq": stats.get("last_seq"),
        "epoch": stats.get("epoch"), "outbox_bytes": stats.get("outbox_bytes"),
        "outbox_cap_bytes": stats.get("outbox_cap_bytes"),
        "outbox_evicted": stats.get("outbox_evicted"),
        "last_seen": {d.id: last_seen.get(d.id) for d in cfg.devices},
        "kernel_timings": stats.get("kernel_timings", {}),
        "counters": stats.get("counters", {}),
    }


def _cmd_status(args: argparse.Namespace) -> int:
    from .config import ConfigError, load

    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"configuration error: {exc}")
        return 2
    s = read_status(cfg)
    if args.json:
        print(json.dumps(s, indent=1))
        return 0
    print(f"gateway {s['gw']}: {'running' if s['running'] else 'NOT running'}")
    if "outbox_depth" in s:
        print(f"broker connects {s['broker_connects']}, in flight {s['in_flight']}, "
              f"outbox depth {s['outbox_depth']}, last seq {s['last_seq']}")
        if s.get("outbox_bytes") is not None:
            ev = s.get("outbox_evicted") or {}
            print(f"stream {s['epoch']}, outbox {s['outbox_bytes']:,} of "
                  f"{s['outbox_cap_bytes']:,} bytes, evicted unsent: "
                  f"{ev.get('summaries', 0)} summaries, {ev.get('events', 0)} events")
        for dev, ts in s["last_seen"].items():
            ago = "never" if ts is None else f"{time.time() - ts:.0f} s ago"
            print(f"  {dev:24} last heard {ago}")
        for k, v in s["kernel_timings"].items():
            print(f"  kernel {k}: {v}")
    return 0 if s["running"] else 1


def _cmd_selftest(args: argparse.Namespace) -> int:
    from .selftest import run_checks

    results = run_checks(args.config)
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name:14} {detail}")
    return 0 if all(ok for _, ok, _ in results) else 1
