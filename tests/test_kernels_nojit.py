"""The kernel tests again with NUMBA_DISABLE_JIT=1: the plain-Python reading of every kernel must
pass the same tests (STYLE point 4). A subprocess, because the switch is read at numba import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already without JIT")
def test_kernel_tests_pass_without_jit() -> None:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    files = [str(HERE / "test_kernels_heat.py"), str(HERE / "test_kernels_detect.py")]
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
                       env=env, cwd=HERE.parent, capture_output=True, text=True, timeout=600,
                       check=False)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
