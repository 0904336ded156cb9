"""`gw selftest`: the checks an installer runs before leaving a site. Each returns a line."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

Result = tuple[str, bool, str]


def _decoders() -> Result:
    from machimori.contract import bthome

    from .decoders.bthome import decode

    key, mac = bytes(range(16)), "AA:BB:CC:DD:EE:FF"
    objs = bthome.heat_node_objects(1, 90, 30.5, 55.0, 1000.0, 40.0)
    plain = decode(bthome.encode_service_data(objs))
    sealed = decode(bthome.encrypt_service_data(objs, key, mac, 7), bindkey=key, mac=mac)
    ok = plain.values == sealed.values and plain.all("temperature") == [30.5, 40.0]
    return "decoders", ok, "BTHome plain and AES-CCM round trip" if ok else "values differ"


def _data_dir(cfg: Any) -> Result:
    try:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cfg.data_dir):
            pass
    except OSError as exc:
        return "data_dir", False, f"{cfg.data_dir}: {exc.strerror}"
    return "data_dir", True, f"{cfg.data_dir} is writable"


def _broker(cfg: Any, timeout: float = 5.0) -> Result:
    import paho.mqtt.client as mqtt

    done = threading.Event()
    result: list[str] = []

    def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        result.append(str(reason))
        done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{cfg.id}-selftest")
    if cfg.mqtt.username:
        c.username_pw_set(cfg.mqtt.username, cfg.mqtt.password)
    c.on_connect = on_connect
    try:
        c.connect(cfg.mqtt.host, cfg.mqtt.port, keepalive=10)
    except OSError as exc:
        return "broker", False, f"{cfg.mqtt.url}: {exc.strerror or exc}"
    c.loop_start()
    try:
        if not done.wait(timeout):
            return "broker", False, f"{cfg.mqtt.url}: no CONNACK in {timeout:.0f} s"
    finally:
        c.disconnect()
        c.loop_stop()
    ok = result[0] == "Success"
    return "broker", ok, f"{cfg.mqtt.url}: {result[0]}"


def _ports(cfg: Any) -> list[Result]:
    out = []
    ports = [(d.id, d.port) for d in cfg.devices if d.port]
    if cfg.routeb.port:
        ports.append(("routeb", cfg.routeb.port))
    for name, port in ports:
        ok = os.path.exists(port)
        out.append((f"serial:{name}", ok, port if ok else f"{port} does not exist (plugged in?)"))
    if cfg.routeb.credentials_file:
        p = Path(cfg.routeb.credentials_file)
        mode = p.stat().st_mode & 0o777 if p.exists() else None
        out.append(("routeb_creds", mode == 0o600,
                    f"{p} mode {oct(mode) if mode is not None else 'missing'}"))
    return out


def _radio(cfg: Any) -> Result:
    if cfg.source != "ble":
        return "radio", True, "source is the sim: no radio needed"
    base = Path("/sys/class/bluetooth")
    names = sorted(p.name for p in base.glob("hci*")) if base.exists() else []
    want = cfg.ble.adapter or (names[0] if names else "hci0")
    ok = want in names
    return "radio", ok, f"{want} {'present' if ok else 'missing'} (adapters: {names or 'none'})"


def run_checks(config_path: str) -> list[Result]:
    from .config import ConfigError, load

    try:
        cfg = load(config_path)
    except ConfigError as exc:
        return [("config", False, str(exc))]
    results = [("config", True, f"gateway {cfg.id}, {len(cfg.devices)} devices"), _decoders(),
               _data_dir(cfg), _broker(cfg), *_ports(cfg), _radio(cfg)]
    return results
