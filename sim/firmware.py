"""The devices' own firmware (edge/lib), loaded into CPython so the sim sends its exact bytes.

The firmware imports its modules by bare name (`import bh1750`) and uses two MicroPython-only
modules: `micropython.const` and, on the tag, `cryptolib.aes`. Both get small CPython stand-ins
here. Modules are loaded under private names and taken out of `sys.modules` again afterwards, so
nothing else in the process sees a fake `micropython` or a module called `bthome`.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

LIB = Path(__file__).resolve().parents[1] / "edge" / "lib"
# The modules the sim runs; their own imports (bthome_table, ccm, eid, ...) come along.
MODULES = ("sht4x", "bh1750", "mlx90614", "ds18b20", "heat_sampler", "heat_node", "bthome",
           "lis3dh", "fall", "eid", "tag_node", "battery", "pulse_line", "mm_config")
_lock = threading.Lock()


def _micropython() -> types.ModuleType:
    m = types.ModuleType("micropython")
    m.const = lambda v: v  # type: ignore[attr-defined]
    return m


class _Aes:
    """cryptolib.aes(key, 1): ECB, encrypt(in, out) into a caller's buffer."""

    def __init__(self, key: bytes, mode: int):
        if mode != 1:
            raise ValueError("the firmware uses ECB (mode 1) only")
        self._enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()

    def encrypt(self, data: bytes, out: bytearray | None = None) -> bytes | None:
        ct = self._enc.update(bytes(data))
        if out is None:
            return ct
        out[:] = ct
        return None


def _cryptolib() -> types.ModuleType:
    m = types.ModuleType("cryptolib")
    m.aes = _Aes  # type: ignore[attr-defined]
    return m


@cache
def firmware() -> types.SimpleNamespace:
    """The firmware modules by name (fw.sht4x, fw.heat_node, ...), loaded once per process."""
    with _lock:
        before = set(sys.modules)
        saved: dict[str, types.ModuleType | None] = {
            n: sys.modules.get(n) for n in ("micropython", "cryptolib")}
        sys.modules["micropython"] = _micropython()
        sys.modules["cryptolib"] = _cryptolib()
        sys.path.insert(0, str(LIB))
        try:
            loaded = {name: importlib.import_module(name) for name in MODULES}
        finally:
            sys.path.remove(str(LIB))
            for name in set(sys.modules) - before:
                mod = sys.modules[name]
                if getattr(mod, "__file__", None) is None or \
                        Path(str(mod.__file__)).parent == LIB:
                    del sys.modules[name]
            for name, old in saved.items():
                if old is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = old
        return types.SimpleNamespace(**loaded)
