"""Gateway configuration: TOML file, then environment, parsed once into frozen dataclasses.

Every error names the field and says how to fix it (docs/installer-guide.md lists the fields).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from machimori import mqtt_link
from machimori.contract.mqtt import GW_ID_RE
from machimori.contract.places import place_name_problem

# `known`: a fixed device the installer knows is not a person (a shop's tablet, a printer):
# people counting leaves it out; nothing else is done with it.
DEVICE_KINDS = ("heat", "tag", "meter", "actuator", "known")
MAC_RE = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class ConfigError(ValueError):
    """Invalid configuration: `field` is the dotted path, the message says the fix."""

    def __init__(self, field_path: str, message: str):
        super().__init__(f"{field_path}: {message}")
        self.field = field_path


@dataclass(frozen=True)
class MqttConfig:
    url: str = "mqtt://127.0.0.1:1883"  # mqtts://host:8883 for TLS
    username: str | None = None  # must be the gateway id: the broker's ACL is keyed on it
    password: str | None = None
    keepalive: int = 30
    inflight: int = 50
    ca_file: str | None = None  # mqtts: the CA the broker's certificate is checked against
    cert_file: str | None = None  # mqtts: a client certificate (with key_file)
    key_file: str | None = None

    @property
    def link(self) -> mqtt_link.BrokerLink:
        return mqtt_link.parse(self.url, self.ca_file, self.cert_file, self.key_file)

    @property
    def host(self) -> str:
        return self.link.host

    @property
    def port(self) -> int:
        return self.link.port


@dataclass(frozen=True)
class OutboxConfig:
    max_mb: float = 256.0  # past this, summaries then events are evicted; never SOS or fall
    max_age_days: float = 14.0  # summaries older than this are evicted unsent


@dataclass(frozen=True)
class SimSourceConfig:
    town_seed: int = 1
    speed: float = 1.0  # simulated seconds per wall-clock second
    sim_start: float = 0.0  # unix time at which the simulated clock starts
    wall_anchor: float = 0.0  # wall-clock unix time that corresponds to sim_start
    sim_minutes: float | None = None  # stop producing after this much simulated time
    gateways: int = 3  # the town's size: every gateway of one town must use the same numbers
    nodes: int = 30
    residents: int = 20
    households: int = 20


@dataclass(frozen=True)
class Device:
    id: str
    kind: str
    address: str | None = None  # BLE address (heat) ; None for tags (rotating) and meters
    lat: float | None = None
    lon: float | None = None
    name: str = ""
    height_m: float | None = None
    mounting: str = ""
    shade_class: str = ""
    key: bytes | None = None  # tag identity key / BTHome bindkey
    household: str | None = None
    person: str | None = None
    port: str | None = None  # serial port of a meter bridge or an actuator
    pulses_per_kwh: float = 1000.0


@dataclass(frozen=True)
class BleConfig:
    adapter: str = ""  # "" = BlueZ's default adapter; else e.g. "hci1"
    passive: bool = True  # passive where BlueZ supports it, else active
    watchdog_s: float = 120.0  # restart the scanner after this long without any advert


@dataclass(frozen=True)
class RouteBConfig:
    port: str = ""  # serial port of the Wi-SUN module; "" = no Route-B meter here
    credentials_file: str = ""  # written by `gw routeb pair`, mode 0600
    layout: str = ""  # "" = detect; "BP35A1" | "BP35C2"
    interval_s: float = 60.0  # how often to read the meter


@dataclass(frozen=True)
class WatchSettings:
    """The watch detectors' tuning (`[watch]`): times in seconds unless the name says days."""

    tz_offset_s: float = 9 * 3600  # JST: hour-of-week profiles and "night" are local
    learn_days: float = 14.0
    night_from_h: float = 22.0
    night_to_h: float = 5.0
    activity_w: float = 30.0
    high_w: float = 2000.0
    high_floor_s: float = 600.0  # continuous_use needs at least this long above high_w
    margin: float = 1.5
    flat_floor_s: float = 6 * 3600.0
    rise_min_wh: float = 50.0
    rise_frac: float = 0.2
    tag_floor_s: float = 4 * 3600.0
    wander_min_count: float = 3.0
    hot_spot_excess_c: float = 8.0
    hot_spot_z: float = 2.0
    radiation_excess_c: float = 1.5
    # People counting's screening (docs/people-counting.md).
    people_rssi_floor_dbm: float = -80.0  # weaker sightings are not "near this place"
    people_min_sightings: float = 2.0  # an address heard fewer times today is not counted
    people_stationary_s: float = 3 * 3600.0  # present this long today: a stationary device


@dataclass(frozen=True)
class GatewayConfig:
    id: str
    data_dir: Path
    summary_interval_s: float = 60.0
    source: str = "sim"  # "sim" | "ble"
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    sim: SimSourceConfig = field(default_factory=SimSourceConfig)
    devices: tuple[Device, ...] = ()
    ble: BleConfig = field(default_factory=BleConfig)
    routeb: RouteBConfig = field(default_factory=RouteBConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    status_interval_s: float = 30.0  # retained status and the learnt-state snapshot
    watch: WatchSettings = field(default_factory=WatchSettings)


def _get(d: dict[str, Any], key: str, typ: type | tuple[type, ...], path: str, default: Any = ...,
         ) -> Any:
    if key not in d:
        if default is ...:
            raise ConfigError(f"{path}.{key}".lstrip("."), "is required; add it to the file")
        return default
    v = d[key]
    if typ is float and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if not isinstance(v, typ) or (isinstance(v, bool) and typ is not bool):
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise ConfigError(f"{path}.{key}".lstrip("."), f"must be a {name}, got {v!r}")
    return v


def _device(d: dict[str, Any], i: int) -> Device:
    p = f"device[{i}]"
    did = _get(d, "id", str, p)
    if not DEVICE_ID_RE.match(did):
        raise ConfigError(f"{p}.id", "use letters, digits and _ . : - (max 64), e.g. heat-001")
    kind = _get(d, "kind", str, p)
    if kind not in DEVICE_KINDS:
        raise ConfigError(f"{p}.kind", f"must be one of {', '.join(DEVICE_KINDS)}")
    address = _get(d, "address", str, p, None)
    if address is not None:
        address = address.upper()
        if not MAC_RE.match(address):
            raise ConfigError(f"{p}.address", "must look like AA:BB:CC:DD:EE:FF")
    if kind in ("heat", "known") and address is None:
        raise ConfigError(f"{p}.address", f"a {kind} device needs its BLE address")
    lat = _get(d, "lat", float, p, None)
    lon = _get(d, "lon", float, p, None)
    if (lat is None) != (lon is None):
        raise ConfigError(f"{p}.lat", "give both lat and lon, or neither")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConfigError(f"{p}.lat", "lat must be -90..90 and lon -180..180 (decimal degrees)")
    key_hex = _get(d, "key", str, p, None)
    key = None
    if key_hex is not None:
        try:
            key = bytes.fromhex(key_hex)
        except ValueError:
            raise ConfigError(f"{p}.key", "must be 32 hex digits (a 16-byte key)") from None
        if len(key) != 16:
            raise ConfigError(f"{p}.key", "must be 32 hex digits (a 16-byte key)")
    if kind == "actuator" and _get(d, "port", str, p, None) is None:
        raise ConfigError(f"{p}.port", "an actuator needs the serial port it is wired to")
    if kind == "tag" and key is None:
        raise ConfigError(f"{p}.key", "a tag needs its 16-byte identity key (32 hex digits)")
    ppk = _get(d, "pulses_per_kwh", float, p, 1000.0)
    if ppk <= 0:
        raise ConfigError(f"{p}.pulses_per_kwh", "must be positive (see the meter's label)")
    height = _get(d, "height_m", float, p, None)
    name = _get(d, "name", str, p, "")
    if name and (why := place_name_problem(name)) is not None:
        raise ConfigError(f"{p}.name", why)  # the collector would refuse every summary
    return Device(
        id=did, kind=kind, address=address, lat=lat, lon=lon, name=name,
        height_m=height, mounting=_get(d, "mounting", str, p, ""),
        shade_class=_get(d, "shade_class", str, p, ""), key=key,
        household=_get(d, "household", str, p, None), person=_get(d, "person", str, p, None),
        port=_get(d, "port", str, p, None), pulses_per_kwh=ppk,
    )


def parse(doc: dict[str, Any], base_dir: Path | None = None,
          env: dict[str, str] | None = None) -> GatewayConfig:
    env = dict(os.environ) if env is None else env
    gw = _get(doc, "gateway", dict, "")
    gid = _get(gw, "id", str, "gateway")
    if not GW_ID_RE.match(gid):
        raise ConfigError("gateway.id", "use lower-case letters, digits and '-' (max 32), e.g. gw-01")
    data_dir = Path(_get(gw, "data_dir", str, "gateway"))
    if not data_dir.is_absolute() and base_dir is not None:
        data_dir = base_dir / data_dir
    interval = _get(gw, "summary_interval_s", float, "gateway", 60.0)
    if not 1 <= interval <= 3600:
        raise ConfigError("gateway.summary_interval_s", "must be between 1 and 3600 seconds")
    status_every = _get(gw, "status_interval_s", float, "gateway", 30.0)
    if not 1 <= status_every <= 3600:
        raise ConfigError("gateway.status_interval_s", "must be between 1 and 3600 seconds")
    source = _get(gw, "source", str, "gateway", "ble")
    from .sources import available_sources

    if source not in (names := available_sources()):
        raise ConfigError("gateway.source", f"must be one of {', '.join(names)} "
                          "('ble' is the real radio)")

    mqtt = _mqtt(_get(doc, "mqtt", dict, "", {}), gid, env)
    s = _get(doc, "sim", dict, "", {})
    sim = SimSourceConfig(
        town_seed=_get(s, "town_seed", int, "sim", 1), speed=_get(s, "speed", float, "sim", 1.0),
        sim_start=_get(s, "sim_start", float, "sim", 0.0),
        wall_anchor=_get(s, "wall_anchor", float, "sim", 0.0),
        sim_minutes=_get(s, "sim_minutes", float, "sim", None),
        gateways=_get(s, "gateways", int, "sim", 3), nodes=_get(s, "nodes", int, "sim", 30),
        residents=_get(s, "residents", int, "sim", 20),
        households=_get(s, "households", int, "sim", 20))
    if sim.speed <= 0:
        raise ConfigError("sim.speed", "must be positive (simulated seconds per real second)")

    ble, routeb = _ble(_get(doc, "ble", dict, "", {})), _routeb(_get(doc, "routeb", dict, "", {}))
    raw_devices = _get(doc, "device", list, "", [])
    devices = tuple(_device(d, i) if isinstance(d, dict) else _bad_device(i)
                    for i, d in enumerate(raw_devices))
    seen: set[str] = set()
    for i, dev in enumerate(devices):
        if dev.id in seen:
            raise ConfigError(f"device[{i}].id", f"{dev.id!r} is enrolled twice; remove one")
        seen.add(dev.id)
    return GatewayConfig(id=gid, data_dir=data_dir, summary_interval_s=interval, source=source,
                         mqtt=mqtt, sim=sim, devices=devices, ble=ble, routeb=routeb,
                         outbox=_outbox(_get(doc, "outbox", dict, "", {})),
                         status_interval_s=status_every,
                         watch=_watch(_get(doc, "watch", dict, "", {})))


def _mqtt(m: dict[str, Any], gid: str, env: dict[str, str]) -> MqttConfig:
    url = env.get("MACHIMORI_MQTT_URL", _get(m, "url", str, "mqtt", "mqtt://127.0.0.1:1883"))
    password = _get(m, "password", str, "mqtt", None)
    pw_file = _get(m, "password_file", str, "mqtt", None)
    if pw_file is not None:
        try:
            password = Path(pw_file).read_text().strip()
        except OSError as exc:
            raise ConfigError("mqtt.password_file", f"cannot read it ({exc.strerror})") from None
    password = env.get("MACHIMORI_MQTT_PASSWORD", password)
    username = _get(m, "username", str, "mqtt", None)
    if username is not None and username != gid:
        # The broker's ACL lets user X publish only under machimori/v1/gw/X/: anything else is
        # accepted, acknowledged and silently dropped, and the outbox would delete it.
        raise ConfigError("mqtt.username", f"must be the gateway id {gid!r} (the broker's ACL "
                          f"drops every message of user {username!r} under gw/{gid}/ without "
                          "telling anyone); create the broker account under the gateway id")
    keepalive = _get(m, "keepalive", int, "mqtt", 30)
    if not 5 <= keepalive <= 3600:
        raise ConfigError("mqtt.keepalive", "must be 5..3600 seconds")
    inflight = _get(m, "inflight", int, "mqtt", 50)
    if not 1 <= inflight <= 1000:
        raise ConfigError("mqtt.inflight", "must be 1..1000 messages")
    files = {}
    for name in ("ca_file", "cert_file", "key_file"):
        path = _get(m, name, str, "mqtt", None)
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"mqtt.{name}", f"{path} does not exist (copy the file there, "
                              "readable by the gateway's user)")
        files[name] = path
    cfg = MqttConfig(url=url, username=username, password=password, keepalive=keepalive,
                     inflight=inflight, **files)
    try:
        link = cfg.link  # parsed here so a bad URL or TLS file stops the start, with its field
        if link.tls:
            mqtt_link.tls_context(link)
    except mqtt_link.LinkError as exc:
        raise ConfigError(f"mqtt.{exc.setting}", str(exc)) from None
    return cfg


def _outbox(o: dict[str, Any]) -> OutboxConfig:
    max_mb = _get(o, "max_mb", float, "outbox", 256.0)
    if not 0.01 <= max_mb <= 1_000_000:
        raise ConfigError("outbox.max_mb", "must be 0.01..1000000 MB (leave room on the SD card)")
    age = _get(o, "max_age_days", float, "outbox", 14.0)
    if not 0.01 <= age <= 3650:
        raise ConfigError("outbox.max_age_days", "must be 0.01..3650 days")
    return OutboxConfig(max_mb, age)


def _watch(w: dict[str, Any]) -> WatchSettings:
    names = {f.name for f in fields(WatchSettings)}
    for key in w:
        if key not in names:
            raise ConfigError(f"watch.{key}", f"unknown setting; known: {', '.join(sorted(names))}")
    got = {n: _get(w, n, float, "watch") for n in names if n in w}
    for n, v in got.items():
        if n == "people_rssi_floor_dbm":
            if not -127 <= v <= 0:
                raise ConfigError(f"watch.{n}", "must be a received power in dBm, -127..0")
        elif n != "tz_offset_s" and v < 0:
            raise ConfigError(f"watch.{n}", "must not be negative")
    return WatchSettings(**got)


def _ble(b: dict[str, Any]) -> BleConfig:
    adapter = _get(b, "adapter", str, "ble", "")
    if adapter and not re.fullmatch(r"hci\d+", adapter):
        raise ConfigError("ble.adapter", "must look like hci0 (see `hciconfig` or `bluetoothctl list`)")
    watchdog = _get(b, "watchdog_s", float, "ble", 120.0)
    if not 10 <= watchdog <= 3600:
        raise ConfigError("ble.watchdog_s", "must be 10..3600 seconds")
    return BleConfig(adapter, _get(b, "passive", bool, "ble", True), watchdog)


def _routeb(r: dict[str, Any]) -> RouteBConfig:
    layout = _get(r, "layout", str, "routeb", "")
    if layout not in ("", "BP35A1", "BP35C2"):
        raise ConfigError("routeb.layout", "must be BP35A1 or BP35C2, or left out to detect it")
    interval = _get(r, "interval_s", float, "routeb", 60.0)
    if not 10 <= interval <= 3600:
        raise ConfigError("routeb.interval_s", "must be 10..3600 seconds (meters rate-limit)")
    cfg = RouteBConfig(_get(r, "port", str, "routeb", ""),
                       _get(r, "credentials_file", str, "routeb", ""), layout, interval)
    if cfg.port and not cfg.credentials_file:
        raise ConfigError("routeb.credentials_file", "run `machimori gw routeb pair` to create it")
    return cfg


def _bad_device(i: int) -> Device:
    raise ConfigError(f"device[{i}]", "must be a [[device]] table")


def load(path: str | Path, env: dict[str, str] | None = None) -> GatewayConfig:
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"{path} is not valid TOML: {exc}") from None
    return parse(doc, base_dir=path.parent, env=env)


def dump(cfg: GatewayConfig) -> str:
    """TOML text for a configuration (used by `sim configs` and the installer's `enroll`)."""
    def q(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["[gateway]", f"id = {q(cfg.id)}", f"data_dir = {q(str(cfg.data_dir))}",
             f"summary_interval_s = {q(cfg.summary_interval_s)}", f"source = {q(cfg.source)}",
             f"status_interval_s = {q(cfg.status_interval_s)}", "",
             "[mqtt]", f"url = {q(cfg.mqtt.url)}", f"keepalive = {cfg.mqtt.keepalive}",
             f"inflight = {cfg.mqtt.inflight}"]
    for name in ("username", "ca_file", "cert_file", "key_file"):
        if (v := getattr(cfg.mqtt, name)) is not None:
            lines.append(f"{name} = {q(v)}")
    if cfg.outbox != OutboxConfig():
        lines += ["", "[outbox]", f"max_mb = {q(cfg.outbox.max_mb)}",
                  f"max_age_days = {q(cfg.outbox.max_age_days)}"]
    if cfg.source == "sim":
        s = cfg.sim
        lines += ["", "[sim]", f"town_seed = {s.town_seed}", f"speed = {q(s.speed)}",
                  f"sim_start = {q(s.sim_start)}", f"wall_anchor = {q(s.wall_anchor)}",
                  f"gateways = {s.gateways}", f"nodes = {s.nodes}",
                  f"residents = {s.residents}", f"households = {s.households}"]
        if s.sim_minutes is not None:
            lines.append(f"sim_minutes = {q(s.sim_minutes)}")
    if cfg.ble != BleConfig():
        lines += ["", "[ble]", f"adapter = {q(cfg.ble.adapter)}",
                  f"passive = {q(cfg.ble.passive)}", f"watchdog_s = {q(cfg.ble.watchdog_s)}"]
    if cfg.routeb != RouteBConfig():
        r = cfg.routeb
        lines += ["", "[routeb]", f"port = {q(r.port)}",
                  f"credentials_file = {q(r.credentials_file)}", f"interval_s = {q(r.interval_s)}"]
        if r.layout:
            lines.append(f"layout = {q(r.layout)}")
    if cfg.watch != WatchSettings():
        lines += ["", "[watch]"] + [f"{f.name} = {q(getattr(cfg.watch, f.name))}"
                                    for f in fields(WatchSettings)
                                    if getattr(cfg.watch, f.name) != f.default]
    for d in cfg.devices:
        lines += ["", "[[device]]", f"id = {q(d.id)}", f"kind = {q(d.kind)}"]
        for name in ("address", "lat", "lon", "name", "height_m", "mounting", "shade_class",
                     "household", "person", "port"):
            v = getattr(d, name)
            if v not in (None, ""):
                lines.append(f"{name} = {q(v)}")
        if d.key is not None:
            lines.append(f"key = {q(d.key.hex())}")
        if d.kind == "meter":
            lines.append(f"pulses_per_kwh = {q(d.pulses_per_kwh)}")
    return "\n".join(lines) + "\n"
