"""`gw selftest`: the checks an installer runs before leaving a site. Each returns a line."""

from __future__ import annotations

import os
import tempfile
import threading
import time
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
    """Connect as the gateway, publish under its own id and wait for the message to come back.

    A PUBACK proves nothing: a broker whose ACL forbids a publish still acknowledges it and
    drops it. So the check subscribes (as the gateway, to machimori/v1/gw/<gw>/selftest, which
    the deployed ACL lets each gateway read) and passes only when its own nonce arrives.
    """
    import paho.mqtt.client as mqtt

    from machimori import mqtt_link
    from machimori.contract import mqtt as contract

    url, topic = cfg.mqtt.url, contract.selftest_topic(cfg.id)
    nonce = os.urandom(8).hex().encode()
    connected, subscribed, arrived = threading.Event(), threading.Event(), threading.Event()
    result: dict[str, Any] = {}

    def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        result["connack"] = reason
        connected.set()
        if not reason.is_failure:
            client.subscribe(topic, qos=1)

    def on_subscribe(client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        result["suback"] = reasons
        subscribed.set()

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        if msg.topic == topic and msg.payload == nonce:
            arrived.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"machimori-gw-{cfg.id}-selftest")
    if cfg.mqtt.username:
        c.username_pw_set(cfg.mqtt.username, cfg.mqtt.password)
    c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
    try:
        link = cfg.mqtt.link
        mqtt_link.apply(c, link)
        c.connect(link.host, link.port, keepalive=10)
    except mqtt_link.LinkError as exc:
        return "broker", False, f"{url}: {exc}"
    except OSError as exc:  # refused, unreachable, TLS (ssl.SSLError is an OSError)
        return "broker", False, f"{url}: {getattr(exc, 'reason', None) or exc.strerror or exc}"
    c.loop_start()
    try:
        if not connected.wait(timeout):
            return "broker", False, f"{url}: no CONNACK in {timeout:.0f} s"
        if result["connack"].is_failure:
            return "broker", False, (f"{url}: {result['connack']} (check mqtt.username and the "
                                     "password)")
        if not subscribed.wait(timeout):
            return "broker", False, f"{url}: no SUBACK in {timeout:.0f} s"
        if any(r.is_failure for r in result["suback"]):
            return "broker", False, (f"{url}: the broker refuses {topic} to this gateway: its ACL "
                                     "lacks `pattern read machimori/v1/gw/%u/selftest` "
                                     "(deploy/mosquitto/machimori.acl)")
        t0 = time.monotonic()
        try:
            c.publish(topic, nonce, qos=1).wait_for_publish(timeout)
        except (RuntimeError, ValueError) as exc:  # the connection went away meanwhile
            return "broker", False, f"{url}: publish failed: {exc}"
        if not arrived.wait(timeout):
            return "broker", False, (
                f"{url}: the broker acknowledged a publish under gw/{cfg.id}/ but never "
                f"delivered it: its ACL drops what user {cfg.mqtt.username or '(anonymous)'} "
                "publishes there, and so would every summary and event "
                "(deploy/mosquitto/machimori.acl: `pattern write machimori/v1/gw/%u/#`)")
        ms = 1000 * (time.monotonic() - t0)
        return "broker", True, f"{url}: a publish under gw/{cfg.id}/ came back in {ms:.0f} ms"
    finally:
        c.disconnect()
        c.loop_stop()


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
