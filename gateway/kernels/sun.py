"""Sun position, clear-sky radiation, sun/shade per heat node and surface hot spots.

The gateway knows its place and the time, so it computes the sun itself (NOAA's low-precision
solar position: about 0.5° in elevation, plenty for shade and for WBGT).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SHADE, SUN, UNKNOWN = 0, 1, -1
SOLAR_CONSTANT = 1367.0  # W/m²


@njit(cache=True)
def cos_zenith(t_utc: np.ndarray, lat_deg: float, lon_deg: float) -> np.ndarray:
    """cos(solar zenith) for Unix times (seconds, UTC) at a place; negative when the sun is down.

    Plain reading: γ = 2π/365·(day − 1 + (hour − 12)/24); declination and equation of time from
    NOAA's Fourier series in γ; hour angle from true solar time; cos z = sin φ sin δ + cos φ cos δ cos h.
    """
    out = np.empty(t_utc.shape[0])
    lat = math.radians(lat_deg)
    for i in range(t_utc.shape[0]):
        days = t_utc[i] / 86400.0
        day_of_year = (days - 365.25 * math.floor((days + 0.5) / 365.25)) % 365.25
        minutes = (t_utc[i] % 86400.0) / 60.0
        g = 2.0 * math.pi / 365.0 * (day_of_year + (minutes / 60.0 - 12.0) / 24.0)
        eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                           - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
        decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g)
                - 0.006758 * math.cos(2 * g) + 0.000907 * math.sin(2 * g)
                - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
        solar_minutes = minutes + eqtime + 4.0 * lon_deg
        ha = math.radians(solar_minutes / 4.0 - 180.0)
        out[i] = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(ha)
    return out


@njit(cache=True)
def clear_sky_ghi(cosz: np.ndarray) -> np.ndarray:
    """Global horizontal irradiance under a clear sky, W/m² (Haurwitz 1945): 1098·cos z·e^(−0.057/cos z)."""
    out = np.zeros(cosz.shape[0])
    for i in range(cosz.shape[0]):
        c = cosz[i]
        if c > 0.0:
            out[i] = 1098.0 * c * math.exp(-0.057 / c)
    return out


@njit(cache=True)
def sun_or_shade(lux: np.ndarray, cosz: np.ndarray, lux_per_wm2: float, sun_ratio: float,
                 shade_ratio: float, min_cosz: float, state: np.ndarray) -> np.ndarray:
    """Per node: SUN, SHADE or UNKNOWN from illuminance against the clear-sky expectation.

    The ratio measured/clear-sky must rise above `sun_ratio` to enter SUN and fall below
    `shade_ratio` to enter SHADE (hysteresis: passing clouds at the edge do not flap). With the
    sun lower than `min_cosz` nothing can be said (UNKNOWN). `state` (one per node) is read and
    updated: it is the streaming state.
    """
    out = np.empty(lux.shape[0], dtype=np.int64)
    for i in range(lux.shape[0]):
        c = cosz[i]
        if c < min_cosz or not math.isfinite(lux[i]):
            state[i] = UNKNOWN
        else:
            ratio = lux[i] / lux_per_wm2 / (1098.0 * c * math.exp(-0.057 / c))
            if ratio >= sun_ratio:
                state[i] = SUN
            elif ratio <= shade_ratio:
                state[i] = SHADE
            elif state[i] == UNKNOWN:
                state[i] = SUN if ratio >= 0.5 * (sun_ratio + shade_ratio) else SHADE
        out[i] = state[i]
    return out


@njit(cache=True)
def surface_hot_spots(surface: np.ndarray, air: np.ndarray, excess: float,
                      z_limit: float) -> np.ndarray:
    """Which nodes' surfaces are hot spots: at least `excess` °C above their own air temperature
    and more than `z_limit` robust z (median / MAD over the nodes reporting) above the others.

    Plain reading: d = surface − air; hot = d ≥ excess and (d − median d) / (1.4826·MAD d) > z_limit.
    """
    n = surface.shape[0]
    d = surface - air
    ok = np.isfinite(d)
    hot = np.zeros(n, dtype=np.bool_)
    vals = d[ok]
    if vals.shape[0] == 0:
        return hot
    med = np.median(vals)
    mad = 1.4826 * np.median(np.abs(vals - med))
    scale = max(mad, 0.5)  # sensor resolution: never call 0.1 °C a hot spot
    for i in range(n):
        if ok[i] and d[i] >= excess and (d[i] - med) / scale > z_limit:
            hot[i] = True
    return hot
