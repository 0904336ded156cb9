"""The firmware type-checks with pyright against the MicroPython ESP32 stubs (typings/,
installed by ./bin/test outside the venv because they shadow time, machine and builtins)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYRIGHT = ROOT / "node_modules" / ".bin" / "pyright"
CONFIG = ROOT / "tests" / "mpy" / "pyrightconfig.json"
pytestmark = pytest.mark.skipif(
    (not PYRIGHT.exists() or not (ROOT / "typings" / "machine.pyi").exists()
     or shutil.which("node") is None) and not os.environ.get("CI"),
    reason="pyright (npm) or the ESP32 stubs are missing: run ./bin/test")


def pyright(project: Path) -> dict:
    proc = subprocess.run([str(PYRIGHT), "--outputjson", "-p", str(project)], check=False,
                          cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    return json.loads(proc.stdout)


def test_firmware_has_no_type_errors_against_the_esp32_stubs() -> None:
    out = pyright(CONFIG)
    errors = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}"
              for d in out["generalDiagnostics"] if d["severity"] == "error"]
    assert errors == []
    assert out["summary"]["filesAnalyzed"] >= len(list((ROOT / "edge").rglob("*.py")))


def test_the_stubs_are_in_force(tmp_path: Path) -> None:
    # Control: misuse of the ESP32 API is caught with the same settings.
    (tmp_path / "bad.py").write_text(
        "import machine\nimport time\n"
        "time.sleep_ms('long')\n"
        "machine.deepsleep('soon')\n")  # last: deepsleep never returns
    cfg = json.loads(CONFIG.read_text())
    typings = str(ROOT / "typings")
    cfg.update(include=[str(tmp_path)], typeshedPath=typings, stubPath=typings,
               extraPaths=[typings])
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(cfg))
    out = pyright(tmp_path / "pyrightconfig.json")
    lines = {d["range"]["start"]["line"] + 1 for d in out["generalDiagnostics"]
             if d["severity"] == "error"}
    assert {3, 4} <= lines
