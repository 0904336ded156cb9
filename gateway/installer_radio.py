"""`machimori gw decode` and `gw scan`: what an installer uses to check that devices are heard."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("decode", help="decode one advertisement or ECHONET Lite frame",
                       description="Decode an advertisement given on the command line and "
                                   "print its readings as JSON, with units.")
    d.add_argument("--service-data", action="append", default=[], metavar="UUID=HEX",
                   help="service data: 16-bit (fcd2) or 128-bit UUID, then the bytes in hex")
    d.add_argument("--manufacturer-data", action="append", default=[], metavar="ID=HEX",
                   help="manufacturer data: company id (0x0499 or 1177), then the bytes")
    d.add_argument("--mac", default="00:00:00:00:00:00",
                   help="the device's address (needed to decrypt BTHome)")
    d.add_argument("--bindkey", help="BTHome bindkey, 32 hex digits")
    d.add_argument("--tag-key", action="append", default=[], metavar="ID=HEX",
                   help="a tag's identity key, to resolve its rotating id")
    d.add_argument("--time", type=float, help="unix time the advert was heard (default now)")
    d.add_argument("--echonet", metavar="HEX", help="an ECHONET Lite frame instead")
    d.set_defaults(func=_cmd_decode)

    s = sub.add_parser("scan", help="live table of nearby devices",
                       description="Show the devices heard: address, kind, values, RSSI, rate.")
    s.add_argument("--sim", action="store_true", help="listen to the simulated town, no radio")
    s.add_argument("--adapter", help="Bluetooth adapter, e.g. hci1 (default: BlueZ's default)")
    s.add_argument("--active", action="store_true", help="active scanning (default passive)")
    s.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0 = never)")
    s.add_argument("--speed", type=float, default=1.0, help="with --sim: simulated s per s")
    s.add_argument("--refresh", type=float, default=1.0, help="seconds between table redraws")
    s.add_argument("--config", help="gateway configuration (bindkeys, tag keys, names)")
    s.set_defaults(func=_cmd_scan)


def _uuid(text: str) -> str:
    t = text.lower().removeprefix("0x")
    return f"0000{t}-0000-1000-8000-00805f9b34fb" if len(t) == 4 else t


def _pairs(items: list[str], what: str) -> list[tuple[str, bytes]]:
    out = []
    for item in items:
        key, sep, hexdata = item.partition("=")
        if not sep:
            raise ValueError(f"{what} {item!r}: expected KEY=HEX")
        out.append((key, bytes.fromhex(hexdata)))
    return out


def _cmd_decode(args: argparse.Namespace) -> int:
    from .decoders.advert import AdvertDecoder, to_json
    from .decoders.errors import DecodeError
    from .frames import Advert

    if args.echonet:
        from . import echonet

        try:
            print(json.dumps(echonet.describe(echonet.parse(bytes.fromhex(args.echonet))),
                             ensure_ascii=False, indent=1))
        except (DecodeError, ValueError) as exc:
            print(json.dumps({"error": getattr(exc, "reason", "bad_hex"), "detail": str(exc)}))
            return 1
        return 0
    try:
        sd = {_uuid(k): v for k, v in _pairs(args.service_data, "--service-data")}
        md = {int(k, 0): v for k, v in _pairs(args.manufacturer_data, "--manufacturer-data")}
        keys = {k: v for k, v in _pairs(args.tag_key, "--tag-key")}
        bindkeys = {args.mac.upper(): bytes.fromhex(args.bindkey)} if args.bindkey else {}
    except ValueError as exc:
        print(json.dumps({"error": "bad_argument", "detail": str(exc)}))
        return 2
    dec = AdvertDecoder(bindkeys=bindkeys, tag_keys=keys, dedup=False)
    adv = Advert(args.mac.upper(), args.time or time.time(), 0, sd, md)
    readings = [to_json(d) for d in dec.decode(adv)]
    for r in readings:
        r.pop("rssi", None)
    rejected = {k: v for k, v in dec.counters.items() if not k.startswith("decoded_")}
    print(json.dumps({"readings": readings, "rejected": rejected}, ensure_ascii=False,
                     indent=1))
    return 0 if readings else 1


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def table(rows: list[dict[str, Any]]) -> str:
    """The scan table: one row per device, newest values."""
    head = f"{'ADDRESS':17}  {'KIND':13}  {'RSSI':>4}  {'RATE/min':>8}  VALUES"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['address']:17}  {r['kind']:13}  {r['rssi']:>4}  {r['rate']:>8.1f}  "
                     f"{r['values']}")
    return "\n".join(lines)


class ScanTable:
    """Keeps the newest reading per (address, kind) and the device's rate."""

    def __init__(self, decoder: Any):
        from .presence import Presence

        self.decoder = decoder
        self.presence = Presence()
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, adv: Any) -> None:
        from .decoders.advert import reading_values

        self.presence.seen(adv.address, adv.ts)
        for d in self.decoder.decode(adv):
            vals = " ".join(f"{n}={_fmt(v)}{u}" for n, v, u in reading_values(d))
            self.rows[(d.address, d.kind)] = {"address": d.address, "kind": d.kind,
                                              "rssi": d.rssi, "values": vals, "ts": d.ts}

    def render(self, now: float) -> str:
        rows = sorted(self.rows.values(), key=lambda r: (r["kind"], r["address"]))
        for r in rows:
            r["rate"] = self.presence.rate_per_min(r["address"], now)
        counters = ", ".join(f"{k}={v}" for k, v in sorted(self.decoder.counters.items())
                             if not k.startswith("decoded_"))
        return table(rows) + f"\n{len(rows)} devices; {counters or 'no rejections'}"


def _cmd_scan(args: argparse.Namespace) -> int:
    from .decoders.advert import AdvertDecoder

    bindkeys: dict[str, bytes] = {}
    tag_keys: dict[str, bytes] = {}
    cfg = None
    if args.config:
        from .config import ConfigError, load

        try:
            cfg = load(args.config)
        except ConfigError as exc:
            print(f"configuration error: {exc}")
            return 2
        for dev in cfg.devices:
            if dev.key and dev.kind == "tag":
                tag_keys[dev.id] = dev.key
            elif dev.key and dev.address:
                bindkeys[dev.address] = dev.key
    if args.sim:
        from .sources import open_source

        # Found by name (the sim registers it): the configuration's own town when it has one,
        # so its enrolled tag keys resolve; else the demo town's, with its tags' keys.
        opened = open_source("sim", cfg, args.speed)
        if not tag_keys:
            tag_keys = dict(opened.tag_keys)
        src: Any = opened.source
        now = opened.clock  # adverts carry simulated time

        def poll() -> list:
            return src.poll(now())[0]
    else:
        from .ble import BleSource

        ble = BleSource(args.adapter, passive=not args.active).start()

        def poll() -> list:
            return ble.poll()[0]

        now = time.time

    tab = ScanTable(AdvertDecoder(bindkeys=bindkeys, tag_keys=tag_keys))
    live = sys.stdout.isatty()
    end = time.monotonic() + args.seconds if args.seconds else None
    try:
        while end is None or time.monotonic() < end:
            for adv in poll():
                tab.add(adv)
            if live:
                sys.stdout.write("\x1b[H\x1b[2J" + tab.render(now()) + "\n")
                sys.stdout.flush()
            time.sleep(args.refresh)
    except KeyboardInterrupt:
        pass
    finally:
        if not args.sim:
            ble.stop()
    for adv in poll():
        tab.add(adv)
    if not live:
        print(tab.render(now()))
    return 0
