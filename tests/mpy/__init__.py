"""Runs firmware test scripts on the real MicroPython (WebAssembly, under Node).

A script reports results with `mpyreport.report(name, value)`; `run_script` returns them as a
dict. One Node process per script: MicroPython keeps one interpreter per process, so tests batch
their cases into a script and check each reported result separately.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PACKAGE = ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
MARK = "@@ "


def available() -> str | None:
    """None when MicroPython can run here, else the reason it cannot."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PACKAGE / "micropython.mjs").exists():
        return "npm package missing: run `npm install` (./bin/test does)"
    return None


def run_script(name: str, timeout: float = 240) -> dict[str, Any]:
    proc = subprocess.run(["node", str(HERE / "run.mjs"), str(HERE / name)], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"MicroPython script {name} failed:\n{proc.stderr}\n{proc.stdout}")
    results: dict[str, Any] = {"_stdout": proc.stdout}
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            item = json.loads(line[len(MARK):])
            results[item["case"]] = item["value"]
    return results
