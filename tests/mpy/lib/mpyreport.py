"""Reports one result per line for tests/mpy/__init__.py; bytes go as hex strings."""

import json
import sys


def _plain(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def report(name, value):
    print("@@ " + json.dumps({"case": name, "value": _plain(value)}))


def case(name, fn):
    """Run fn(); report its value, or the error as {"error": ...} so one case cannot hide others."""
    try:
        report(name, fn())
    except Exception as e:  # noqa: BLE001 - every failure is a result to report
        sys.print_exception(e)
        report(name, {"error": "%s: %s" % (type(e).__name__, e)})
