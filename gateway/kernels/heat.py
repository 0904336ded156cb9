"""Heat kernels: WBGT estimate from weather and its Ministry of the Environment level.

Levels (環境省「日常生活に関する指針」, plus level 0 below 注意) are defined once in
machimori/contract/wbgt.py: 0 ほぼ安全 (< 21), 1 注意, 2 警戒, 3 厳重警戒, 4 危険 (≥ 31).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from machimori.contract import wbgt as wbgt_vocabulary

# The level vocabulary is the contract's (machimori/contract/wbgt.py), shared with the pages.
LEVEL_BOUNDS = np.array(wbgt_vocabulary.BOUNDS)
LEVEL_NAMES_JA = wbgt_vocabulary.NAMES_JA
LEVEL_NAMES_EN = wbgt_vocabulary.NAMES_EN
# Sunlight's luminous efficacy, lux per W/m²; turns a lux reading into a solar-radiation estimate.
LUX_PER_WM2 = 110.0
# A light sensor's reading at or above this is its full scale, not the sky's: the heat node's
# BH1750 at MTreg 31 tops out at 65535 / 1.2 × 69 / 31 ≈ 121,556 lx (edge/lib/bh1750.py), and
# reports exactly that when saturated. Noon sun in a Japanese summer is ~100–120 klx.
LUX_SATURATED = 121_500.0


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


@njit(cache=True)
def wbgt_outdoor(tnw: np.ndarray, tg: np.ndarray, ta: np.ndarray) -> np.ndarray:
    """Outdoor (sunlit) WBGT from measured natural wet-bulb, black-globe and air temperature, °C.

    Plain reading: 0.7·Tnw + 0.2·Tg + 0.1·Ta (ISO 7243).
    """
    out = np.empty(ta.shape[0])
    for i in range(ta.shape[0]):
        out[i] = 0.7 * tnw[i] + 0.2 * tg[i] + 0.1 * ta[i]
    return out


@njit(cache=True)
def wbgt_indoor(tnw: np.ndarray, tg: np.ndarray) -> np.ndarray:
    """Indoor / no-sun WBGT, °C. Plain reading: 0.7·Tnw + 0.3·Tg (ISO 7243)."""
    out = np.empty(tnw.shape[0])
    for i in range(tnw.shape[0]):
        out[i] = 0.7 * tnw[i] + 0.3 * tg[i]
    return out


@njit(cache=True)
def heat_index(ta: np.ndarray, rh: np.ndarray) -> np.ndarray:
    """Heat index °C by Rothfusz's regression (NWS, °F form); NaN below 27 °C where the
    regression does not apply (pythermalcomfort uses the same limit).

    Plain reading (T in °F): −42.379 + 2.04901523T + 10.14333127R − 0.22475541TR − 0.00683783T²
    − 0.05481717R² + 0.00122874T²R + 0.00085282TR² − 0.00000199T²R².
    """
    out = np.empty(ta.shape[0])
    for i in range(ta.shape[0]):
        if not ta[i] >= 27.0:
            out[i] = np.nan
            continue
        t = ta[i] * 1.8 + 32.0
        r = rh[i]
        hi = (-42.379 + 2.04901523 * t + 10.14333127 * r - 0.22475541 * t * r
              - 0.00683783 * t * t - 0.05481717 * r * r + 0.00122874 * t * t * r
              + 0.00085282 * t * r * r - 0.00000199 * t * t * r * r)
        out[i] = (hi - 32.0) / 1.8
    return out
