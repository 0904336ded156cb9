"""Heat kernels: WBGT estimate from weather and its Ministry of the Environment level.

Levels (環境省「日常生活に関する指針」, plus level 0 below 注意):
    0 ほぼ安全 (< 21), 1 注意 (21–25), 2 警戒 (25–28), 3 厳重警戒 (28–31), 4 危険 (≥ 31)
"""

from __future__ import annotations

import numpy as np
from numba import njit

LEVEL_BOUNDS = np.array([21.0, 25.0, 28.0, 31.0])
LEVEL_NAMES_JA = ("ほぼ安全", "注意", "警戒", "厳重警戒", "危険")
LEVEL_NAMES_EN = ("almost safe", "caution", "warning", "severe warning", "danger")
# Sunlight's luminous efficacy, lux per W/m²; turns a lux reading into a solar-radiation estimate.
LUX_PER_WM2 = 110.0


@njit(cache=True)
def wbgt_moe(ta: np.ndarray, rh: np.ndarray, sr_kw: np.ndarray, ws: np.ndarray) -> np.ndarray:
    """MOE estimate (Ono et al. 2014); SR in kW/m².

    Plain reading: 0.735·Ta + 0.0374·RH + 0.00292·Ta·RH + 7.619·SR − 4.557·SR² − 0.0572·WS − 4.064
    """
    out = np.empty(ta.shape[0])
    for i in range(ta.shape[0]):
        t = ta[i]
        h = rh[i]
        s = sr_kw[i]
        out[i] = (0.735 * t + 0.0374 * h + 0.00292 * t * h + 7.619 * s - 4.557 * s * s
                  - 0.0572 * ws[i] - 4.064)
    return out


@njit(cache=True)
def wbgt_levels(wbgt: np.ndarray, bounds: np.ndarray, prev: np.ndarray,
                hysteresis: float) -> np.ndarray:
    """Level per value; a level only drops once the value is `hysteresis` °C below its bound.

    Plain reading: raw = number of bounds <= w; if raw < prev and w > bounds[prev-1] - hysteresis,
    keep prev.
    """
    out = np.empty(wbgt.shape[0], dtype=np.int64)
    for i in range(wbgt.shape[0]):
        w = wbgt[i]
        raw = 0
        for b in range(bounds.shape[0]):
            if w >= bounds[b]:
                raw = b + 1
        p = prev[i]
        if 0 <= p and raw < p and w > bounds[p - 1] - hysteresis:
            raw = p
        out[i] = raw
    return out
