"""Device configuration (/config.json on flash): parsed once at boot and validated field by field.

The same module runs on the device and in `machimori edge build`, so a bad file is refused on the
installer's laptop before flashing, and again with the same words on the serial console.
"""

import json

PATH = "/config.json"
ROLES = ("heat", "tag", "meter", "actuator")


class ConfigError(ValueError):
    """A field is missing or wrong; the message names it and says what is allowed."""


def _int(lo, hi):
    def check(v):
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            return "an integer from %d to %d" % (lo, hi)
    return check


def _bool(v):
    if not isinstance(v, bool):
        return "true or false"


def _hex16(v):
    ok = isinstance(v, str) and len(v) == 32
    if ok:
        try:
            bytes.fromhex(v)
        except ValueError:
            ok = False
    if not ok:
        return "32 hex digits (a 16-byte key)"


def _opt(check):
    def opt(v):
        if v is not None:
            return check(v)
    return opt


def _one_of(*choices):
    def check(v):
        if v not in choices:
            return "one of " + ", ".join(choices)
    return check


_PIN = _int(0, 48)
_OPT_PIN = _opt(_PIN)
# field: (default, check); a default of ... means required.
_COMMON = {
    "role": (..., _one_of(*ROLES)),
    "board": (..., lambda v: None if isinstance(v, str) and v else "a board name"),
    "name": ("", lambda v: None if isinstance(v, str) and len(v) <= 32 else "text up to 32"),
    "wake": ("gpio", _one_of("gpio", "ext1")),
    "battery_adc": (None, _OPT_PIN),
    "battery_divider": (2, _int(1, 10)),
    "adv_interval_ms": (100, _int(20, 10240)),
}
_FIELDS = {
    "heat": {
        "interval_s": (60, _int(10, 3600)),
        "samples": (4, _int(1, 16)),
        "sample_gap_ms": (200, _int(190, 5000)),
        "burst_ms": (1000, _int(100, 10000)),
        "bindkey": (None, _opt(_hex16)),
        "surface": (True, _bool),
        "globe": (False, _bool),
        "sda": (..., _PIN),
        "scl": (..., _PIN),
        "onewire": (None, _OPT_PIN),
        "sensor_power": (None, _OPT_PIN),
        "sht4x_address": (0x44, _int(0x44, 0x46)),
        "mlx90614_address": (0x5A, _int(0x01, 0x7F)),
        "bh1750_address": (0x23, _one_of(0x23, 0x5C)),
    },
    "tag": {
        "key": (..., _hex16),
        "rotation_k": (10, _int(0, 20)),
        "period_s": (10, _int(1, 600)),
        "burst_ms": (300, _int(100, 5000)),
        "sos_hold_s": (300, _int(10, 3600)),
        "fall_hold_s": (300, _int(10, 3600)),
        "sda": (..., _PIN),
        "scl": (..., _PIN),
        "button": (..., _PIN),
        "accel_int": (..., _PIN),
        "lis3dh_address": (0x18, _one_of(0x18, 0x19)),
    },
    "meter": {
        "pulse": (..., _PIN),
        "pulse_edge": ("falling", _one_of("falling", "rising")),
        "debounce_ms": (20, _int(1, 1000)),
        "report_s": (10, _int(1, 3600)),
        "save_s": (60, _int(5, 86400)),
        "uart_id": (1, _int(1, 2)),
        "uart_tx": (..., _PIN),
        "uart_rx": (..., _PIN),
        "baud": (9600, _one_of(9600, 19200, 38400, 57600, 115200)),
    },
    "actuator": {
        "relay": (..., _PIN),
        "relay_active": ("high", _one_of("high", "low")),
        "override": (..., _PIN),
        "override_active": ("low", _one_of("low", "high")),
        "sda": (..., _PIN),
        "scl": (..., _PIN),
        "sht4x_address": (0x44, _int(0x44, 0x46)),
        "uart_id": (1, _int(1, 2)),
        "uart_tx": (..., _PIN),
        "uart_rx": (..., _PIN),
        "baud": (9600, _one_of(9600, 19200, 38400, 57600, 115200)),
        "rh_max": (80, _int(30, 100)),
        "wind_max_dms": (50, _int(0, 1000)),
        "max_on_s": (900, _int(10, 86400)),
        "min_off_s": (300, _int(0, 86400)),
        "on_from_h": (9, _int(0, 23)),
        "on_until_h": (19, _int(0, 24)),
        "state_s": (30, _int(1, 3600)),
    },
}


def validate(raw):
    """A dict of every field (defaults filled in) or ConfigError naming the first bad field."""
    if not isinstance(raw, dict):
        raise ConfigError("config: the file must hold a JSON object")
    role = raw.get("role")
    if role not in ROLES:
        raise ConfigError("config: field 'role' must be one of " + ", ".join(ROLES))
    spec = dict(_COMMON)
    spec.update(_FIELDS[role])
    out = {}
    for name, (default, check) in spec.items():
        if name not in raw:
            if default is ...:
                raise ConfigError("config: field '%s' is required for role %s" % (name, role))
            out[name] = default
            continue
        problem = check(raw[name])
        if problem:
            raise ConfigError("config: field '%s' must be %s, got %r" % (name, problem, raw[name]))
        out[name] = raw[name]
    for name in raw:
        if name not in spec:
            raise ConfigError("config: unknown field '%s' for role %s (a typo?)" % (name, role))
    if role == "heat" and out["globe"] and not out["surface"]:
        raise ConfigError("config: field 'globe' needs 'surface' (temperatures go air, surface, globe)")
    if role == "heat" and out["globe"] and out["onewire"] is None:
        raise ConfigError("config: field 'onewire' is required when 'globe' is true")
    if role == "actuator" and out["relay"] == out["override"]:
        raise ConfigError("config: field 'override' must be another pin than 'relay'")
    return out


def load(path=PATH):
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError:
        raise ConfigError("config: %s not found (copy one with `machimori edge flash`)" % path)
    except ValueError:
        raise ConfigError("config: %s is not valid JSON" % path)
    return validate(raw)
