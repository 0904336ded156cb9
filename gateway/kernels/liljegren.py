"""Outdoor WBGT from weather data: Liljegren et al. (2008) globe and natural wet-bulb model.

Inputs are what a gateway has: air temperature, humidity, pressure, wind, global solar radiation
(measured, or estimated from a node's illuminance) and the sun's position (gateway/kernels/sun.py).
Tg and Tnw are each solved from their steady-state energy balance — by the secant method on the
reference program's fixed-point map (its damped iteration, tolerance 0.02 K, is the fallback), then
WBGT = 0.7·Tnw + 0.2·Tg + 0.1·Ta. Constants are those of the paper (2-inch globe, ε 0.95, albedo
0.05; wick 7 mm × 25.4 mm; ground albedo 0.45); sensors are assumed to sit over ground at air
temperature. NaN where an iteration does not converge (or an input is NaN).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SIGMA = 5.6696e-8  # Stefan–Boltzmann
CP = 1003.5  # J/(kg K), dry air
M_AIR = 28.97
M_H2O = 18.015
R_AIR = 8314.34 / M_AIR
PRANDTL = CP / (CP + 1.25 * R_AIR)
RATIO = CP * M_AIR / M_H2O
EMIS_WICK, ALB_WICK, D_WICK, L_WICK = 0.95, 0.4, 0.007, 0.0254
EMIS_GLOBE, ALB_GLOBE, D_GLOBE = 0.95, 0.05, 0.0508
EMIS_SFC, ALB_SFC = 0.999, 0.45
COSZ_MIN = 0.00873  # sun more than 89.5° from the zenith counts as down
MIN_SPEED = 0.13  # m/s; below this free convection dominates and the correlations fail
TOLERANCE = 0.02
MAX_ITER = 500
SECANT_ITER = 30
SECANT_TOL = 1e-4
MIN_WIND_10M = 0.62  # operational floor for 10 m wind (≈0.5 m/s at 2 m)


@njit(cache=True)
def _esat(tk: float) -> float:
    """Saturation vapour pressure over water, hPa (Buck 1981, enhancement 1.004)."""
    return 1.004 * 6.1121 * math.exp(17.502 * (tk - 273.15) / (tk - 32.18))


@njit(cache=True)
def _viscosity(tk: float) -> float:
    omega = (tk / 97.0 - 2.9) / 0.4 * (-0.034) + 1.048
    return 2.6693e-6 * math.sqrt(M_AIR * tk) / (3.617 * 3.617 * omega)


@njit(cache=True)
def _conductivity(tk: float) -> float:
    return (CP + 1.25 * R_AIR) * _viscosity(tk)


@njit(cache=True)
def _diffusivity(tk: float, p_hpa: float) -> float:
    """Water vapour in air, m²/s (Bird, Stewart & Lightfoot)."""
    pc = (36.4 * 218.0) ** (1.0 / 3.0)
    tc512 = (132.0 * 647.3) ** (5.0 / 12.0)
    tc12 = math.sqrt(132.0 * 647.3)
    mmix = math.sqrt(1.0 / M_AIR + 1.0 / M_H2O)
    return 3.640e-4 * (tk / tc12) ** 2.334 * pc * tc512 * mmix / (p_hpa / 1013.25) * 1e-4


@njit(cache=True)
def _reynolds(tk: float, p_hpa: float, speed: float, d: float) -> float:
    density = p_hpa * 100.0 / (R_AIR * tk)
    return max(speed, MIN_SPEED) * density * d / _viscosity(tk)


@njit(cache=True)
def _globe_map(tg: float, ta: float, p: float, speed: float, longwave: float,
               shortwave: float) -> float:
    """One step of the globe energy balance: the Tg it implies given the current Tg."""
    tref = 0.5 * (tg + ta)
    re = _reynolds(tref, p, speed, D_GLOBE)
    h = (2.0 + 0.6 * math.sqrt(re) * PRANDTL ** 0.3333) * _conductivity(tref) / D_GLOBE
    return (longwave - h / (SIGMA * EMIS_GLOBE) * (tg - ta) + shortwave) ** 0.25


@njit(cache=True)
def _globe(ta: float, rh: float, p: float, speed: float, solar: float, fdir: float,
           cosz: float) -> float:
    """Globe temperature, K. rh as a fraction."""
    emis_atm = 0.575 * (rh * _esat(ta)) ** 0.143
    cz = cosz if cosz > COSZ_MIN else 1.0
    beam = fdir * (1.0 / (2.0 * cz) - 1.0) if fdir > 0.0 else 0.0
    longwave = 0.5 * (emis_atm * ta ** 4 + EMIS_SFC * ta ** 4)
    shortwave = solar / (2.0 * SIGMA * EMIS_GLOBE) * (1.0 - ALB_GLOBE) * (beam + 1.0 + ALB_SFC)
    # Secant on g(T) = map(T) − T: the same fixed point as the reference's damped iteration,
    # reached in a handful of steps instead of dozens.
    x0 = ta
    g0 = _globe_map(x0, ta, p, speed, longwave, shortwave) - x0
    x1 = x0 + 0.1 * g0
    for _ in range(SECANT_ITER):
        g1 = _globe_map(x1, ta, p, speed, longwave, shortwave) - x1
        if abs(g1) < SECANT_TOL or g1 == g0:
            return x1 + g1
        x0, x1, g0 = x1, x1 - g1 * (x1 - x0) / (g1 - g0), g1
    tg = ta  # fall back to the reference's damped fixed-point iteration
    for _ in range(MAX_ITER):
        new = _globe_map(tg, ta, p, speed, longwave, shortwave)
        if abs(new - tg) < TOLERANCE:
            return new
        tg = 0.9 * tg + 0.1 * new
    return np.nan


@njit(cache=True)
def _wetbulb_map(tw: float, ta: float, p: float, speed: float, e_air: float, longwave: float,
                 absorbed: float) -> float:
    """One step of the wick's energy balance: the Tnw it implies given the current Tnw."""
    tref = 0.5 * (tw + ta)
    re = _reynolds(tref, p, speed, D_WICK)
    h = 0.281 * re ** 0.6 * PRANDTL ** 0.44 * _conductivity(tref) / D_WICK
    radiative = SIGMA * EMIS_WICK * (longwave - tw ** 4) + absorbed
    e_wick = _esat(tw)
    density = p * 100.0 / (R_AIR * tref)
    schmidt = _viscosity(tref) / (density * _diffusivity(tref, p))
    latent = (313.15 - tref) / 30.0 * (-71100.0) + 2.4073e6
    return (ta - latent / RATIO * (e_wick - e_air) / (p - e_wick)
            * (PRANDTL / schmidt) ** 0.56 + radiative / h)


@njit(cache=True)
def _natural_wetbulb(ta: float, rh: float, p: float, speed: float, solar: float, fdir: float,
                     cosz: float) -> float:
    """Natural (radiation-exposed, ventilated by the wind only) wet-bulb temperature, K."""
    emis_atm = 0.575 * (rh * _esat(ta)) ** 0.143
    cz = cosz if cosz > COSZ_MIN else 1.0
    tan_z = math.tan(math.acos(min(1.0, cz)))
    e_air = rh * _esat(ta)
    longwave = 0.5 * (emis_atm * ta ** 4 + EMIS_SFC * ta ** 4)
    absorbed = (1.0 - ALB_WICK) * solar * (
        (1.0 - fdir) * (1.0 + 0.25 * D_WICK / L_WICK)
        + fdir * (tan_z / math.pi + 0.25 * D_WICK / L_WICK) + ALB_SFC)
    z = math.log(e_air / (6.1121 * 1.004))
    start = 273.15 + 240.97 * z / (17.502 - z)  # the dew point
    x0 = start
    g0 = _wetbulb_map(x0, ta, p, speed, e_air, longwave, absorbed) - x0
    x1 = x0 + 0.1 * g0
    for _ in range(SECANT_ITER):
        g1 = _wetbulb_map(x1, ta, p, speed, e_air, longwave, absorbed) - x1
        if abs(g1) < SECANT_TOL or g1 == g0:
            return x1 + g1
        x0, x1, g0 = x1, x1 - g1 * (x1 - x0) / (g1 - g0), g1
    tw = start
    for _ in range(MAX_ITER):
        new = _wetbulb_map(tw, ta, p, speed, e_air, longwave, absorbed)
        if abs(new - tw) < TOLERANCE:
            return new
        tw = 0.9 * tw + 0.1 * new
    return np.nan


@njit(cache=True)
def wbgt_liljegren(ta: np.ndarray, rh: np.ndarray, p_hpa: np.ndarray, wind_2m: np.ndarray,
                   solar: np.ndarray, fdir: np.ndarray, cosz: np.ndarray) -> np.ndarray:
    """WBGT °C from air temperature °C, RH %, pressure hPa, wind at 2 m (m/s), global solar
    radiation W/m², direct-beam fraction (clamped to 0–0.9; 0 when the sun is down) and
    cos(solar zenith).

    Plain reading: 0.7·Tnw + 0.2·Tg + 0.1·Ta with Tg, Tnw from the loops in _globe and
    _natural_wetbulb.
    """
    out = np.empty(ta.shape[0])
    for i in range(ta.shape[0]):
        tk = ta[i] + 273.15
        h = rh[i] / 100.0
        f = min(0.9, max(0.0, fdir[i]))
        if cosz[i] < COSZ_MIN:
            f = 0.0
        s = max(0.0, solar[i])
        tg = _globe(tk, h, p_hpa[i], wind_2m[i], s, f, cosz[i])
        tw = _natural_wetbulb(tk, h, p_hpa[i], wind_2m[i], s, f, cosz[i])
        out[i] = 0.7 * (tw - 273.15) + 0.2 * (tg - 273.15) + 0.1 * ta[i]
    return out


@njit(cache=True)
def wind_10m_to_2m(va10: np.ndarray, cosz: np.ndarray, solar: np.ndarray) -> np.ndarray:
    """Weather-station wind (10 m) → 2 m by a power law whose exponent follows the
    Pasquill–Gifford stability class (urban exponents), after Liljegren; floored at 0.13 m/s.
    The 10 m wind is first raised to the 0.62 m/s operational floor."""
    out = np.empty(va10.shape[0])
    urban = (0.15, 0.15, 0.20, 0.25, 0.30, 0.30)
    for i in range(va10.shape[0]):
        v = max(va10[i], MIN_WIND_10M)
        if cosz[i] > 0.0:
            s = solar[i]
            col = 0 if s >= 925.0 else 1 if s >= 675.0 else 2 if s >= 175.0 else 3
            row = 4 if v >= 6.0 else 3 if v >= 5.0 else 2 if v >= 3.0 else 1 if v >= 2.0 else 0
            # stability classes A=1 … F=6 by (wind row, radiation column), daytime
            table = ((1, 1, 2, 4), (1, 2, 3, 4), (2, 2, 3, 4), (3, 3, 4, 4), (3, 4, 4, 4))
            cls = table[row][col]
        else:
            row = 2 if v >= 2.5 else 1 if v >= 2.0 else 0
            cls = (5, 5, 4)[row]  # night: E, E, D
        out[i] = max(v * 0.2 ** urban[cls - 1], MIN_SPEED)
    return out


@njit(cache=True)
def direct_fraction_erbs(solar: np.ndarray, cosz: np.ndarray) -> np.ndarray:
    """Direct-beam fraction of global radiation from the clearness index (Erbs et al. 1982);
    0 when the sun is down. Used when only global radiation (or illuminance) is measured."""
    out = np.zeros(solar.shape[0])
    for i in range(solar.shape[0]):
        if cosz[i] < COSZ_MIN or solar[i] <= 0.0:
            continue
        kt = min(1.0, solar[i] / (1367.0 * cosz[i]))
        if kt <= 0.22:
            diffuse = 1.0 - 0.09 * kt
        elif kt <= 0.80:
            diffuse = 0.9511 - 0.1604 * kt + 4.388 * kt ** 2 - 16.638 * kt ** 3 + 12.336 * kt ** 4
        else:
            diffuse = 0.165
        out[i] = 1.0 - diffuse
    return out
