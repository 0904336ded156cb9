"""Boot entry: read /config.json, run the configured role; a bad config stops with a clear
message on the serial console (the installer sees it in `mpremote`), never a reboot loop."""

import sys

sys.path.append("/lib")

from mm_config import ConfigError, load  # noqa: E402


def start():
    try:
        cfg = load()
    except ConfigError as e:
        print("machimori: configuration error:", e)
        print("machimori: fix /config.json (see docs/installer-firmware.md) and reset")
        return None
    role = cfg["role"]
    if role == "heat":
        import heat_main as m
    elif role == "tag":
        import tag_main as m
    elif role == "actuator":
        import actuator_main as m
    else:
        import meter_main as m
    return m.main(cfg)


start()
