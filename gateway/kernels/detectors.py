"""The general anomaly detectors by name, and the parameters a whole file gives them.

`surprise` (anomaly.py) is the one the gateway runs live; `ctx` (anomaly_ctx.py) is the
contextual-novelty family (docs/kernels.md). `machimori detect` and bench/nab.py choose here.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import anomaly, anomaly_ctx

KERNELS: dict[str, ModuleType] = {"surprise": anomaly, "ctx": anomaly_ctx}
# the fewest readings each detector can learn a scale from
MIN_PROBATION = {"surprise": 0.0, "ctx": float(anomaly_ctx.MIN_PROBATION)}


def file_params(name: str, n_rows: int, params: np.ndarray | None = None) -> np.ndarray:
    """`params` (default: the detector's defaults) with NAB's probation for a whole file of
    `n_rows` readings (15 %, at most 750), as NAB tells every detector."""
    k = KERNELS[name]
    p = (k.DEFAULT_PARAMS if params is None else params).copy()
    p[k.P_PROBATION] = max(MIN_PROBATION[name], anomaly.file_probation(n_rows))
    return p


def detect_file(name: str, t: np.ndarray, x: np.ndarray,
                params: np.ndarray | None = None) -> np.ndarray:
    """Scores in [0, 1] for a whole series by detector `name` (fresh state)."""
    return KERNELS[name].detect_series(t, x, file_params(name, x.shape[0], params))
