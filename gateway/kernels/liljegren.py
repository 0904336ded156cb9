"""Outdoor WBGT from weather data: Liljegren et al. (2008) globe and natural wet-bulb model.

Inputs are what a gateway has: air temperature, humidity, pressure, wind, global solar radiation
(measured, or estimated from a node's illuminance) and the sun's position (gateway/kernels/sun.py).
Tg and Tnw are each solved from their steady-state energy balance (the reference program's
fixed-point maps _globe_map and _wetbulb_map): Newton's method with the air properties frozen at the
current film temperature, then the properties updated, until the temperature settles; then
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
OUTER_ITER = 20  # property updates; two or three are the norm
OUTER_TOL = 0.1  # K; the update contracts by a few % a round, so ~3e-3 K is left
NEWTON_ITER = 30
NEWTON_TOL = 1e-2  # K; quadratic convergence: the step after this one would be ~1e-4 K
MIN_WIND_10M = 0.62  # operational floor for 10 m wind (≈0.5 m/s at 2 m)
# LLVM may reassociate, contract to FMA and use reciprocals; NaN and inf keep their meaning
FAST = {"reassoc", "contract", "arcp", "nsz"}
# constants of the property formulas below, folded once (the solvers use them in log form)
PR_GLOBE = PRANDTL ** 0.3333
PR_WICK = PRANDTL ** 0.44
VISC_C = 2.6693e-6 * math.sqrt(M_AIR) / (3.617 * 3.617)
TC12 = math.sqrt(132.0 * 647.3)
DIFF_C = (3.640e-4 * (36.4 * 218.0) ** (1.0 / 3.0) * (132.0 * 647.3) ** (5.0 / 12.0)
          * math.sqrt(1.0 / M_AIR + 1.0 / M_H2O) * 1013.25 * 1e-4)  # × (T/TC12)^2.334 / p
LN_SC_C = math.log(R_AIR * TC12 / (100.0 * DIFF_C))  # ln Schmidt = ln ν + this − 1.334 ln(T/TC12)
ESAT_B = 17.502 * (273.15 - 32.18)  # d ln es / dT = ESAT_B / (T − 32.18)²


@njit(cache=True, fastmath=FAST, error_model="numpy")
def _esat(tk: float) -> float:
    """Saturation vapour pressure over water, hPa (Buck 1981, enhancement 1.004)."""
    return 1.004 * 6.1121 * math.exp(17.502 * (tk - 273.15) / (tk - 32.18))


@njit(cache=True, fastmath=FAST, error_model="numpy")
def _viscosity(tk: float) -> float:
    omega = (tk / 97.0 - 2.9) / 0.4 * (-0.034) + 1.048
    return 2.6693e-6 * math.sqrt(M_AIR * tk) / (3.617 * 3.617 * omega)


@njit(cache=True, fastmath=FAST, error_model="numpy")
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


@njit(cache=True, fastmath=FAST, error_model="numpy")
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


@njit(cache=True, fastmath=FAST, error_model="numpy")
def _globe_a(tref: float, p: float, speed: float) -> float:
    """Convective coefficient of the globe over σ·ε (K³), properties at the film temperature."""
    re = _reynolds(tref, p, speed, D_GLOBE)
    h = (2.0 + 0.6 * math.sqrt(re) * PR_GLOBE) * _conductivity(tref) / D_GLOBE
    return h / (SIGMA * EMIS_GLOBE)


@njit(cache=True, fastmath=FAST, error_model="numpy")
def _globe(ta: float, p: float, speed: float, solar: float, fdir: float, cosz: float,
           longwave: float) -> float:
    """Globe temperature, K, given the downwelling longwave term (_longwave).

    The balance Tg⁴ + a(Tf)·(Tg − Ta) = longwave + shortwave, Tf = (Tg + Ta)/2, is the reference's
    fixed point (_globe_map). With the air properties frozen at the current film temperature it is
    a convex quartic, solved by Newton without any power function; the properties are then updated
    and the quartic solved again until Tg moves less than OUTER_TOL (two or three rounds).
    """
    cz = cosz if cosz > COSZ_MIN else 1.0
    beam = fdir * (1.0 / (2.0 * cz) - 1.0) if fdir > 0.0 else 0.0
    shortwave = solar / (2.0 * SIGMA * EMIS_GLOBE) * (1.0 - ALB_GLOBE) * (beam + 1.0 + ALB_SFC)
    c = longwave + shortwave
    tg = ta
    for _ in range(OUTER_ITER):
        a = _globe_a(0.5 * (tg + ta), p, speed)
        t = tg
        for _ in range(NEWTON_ITER):
            t2 = t * t
            step = (t2 * t2 + a * (t - ta) - c) / (4.0 * t2 * t + a)
            t -= step
            if abs(step) < NEWTON_TOL:
                break
        moved = abs(t - tg)
        tg = t
        if moved < OUTER_TOL:
            return tg if math.isfinite(tg) else np.nan
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


@njit(cache=True, fastmath=FAST, error_model="numpy")
def _natural_wetbulb(ta: float, e_air: float, p: float, speed: float, solar: float, fdir: float,
                     cosz: float, longwave: float) -> float:
    """Natural (radiation-exposed, ventilated by the wind only) wet-bulb temperature, K, given the
    vapour pressure e_air (hPa) and the longwave term (_longwave).

    Solves T = _wetbulb_map(T): with the air properties (h, Schmidt number, latent heat) frozen at
    the current film temperature, T − Ta + K·(es(T) − e)/(p − es(T)) − (σε(L − T⁴) + absorbed)/h
    is increasing in T and Newton finds its root in a few steps (one exp each); the properties are
    then updated and the root found again until T moves less than OUTER_TOL.
    """
    cz = min(1.0, cosz if cosz > COSZ_MIN else 1.0)
    tan_z = math.sqrt(1.0 - cz * cz) / cz
    absorbed = (1.0 - ALB_WICK) * solar * (
        (1.0 - fdir) * (1.0 + 0.25 * D_WICK / L_WICK)
        + fdir * (tan_z / math.pi + 0.25 * D_WICK / L_WICK) + ALB_SFC)
    z = math.log(e_air / (6.1121 * 1.004))
    dew = 273.15 + 240.97 * z / (17.502 - z)
    tw = dew + (ta - dew) / 3.0  # roughly the psychrometric wet bulb: a good first film temperature
    se = SIGMA * EMIS_WICK
    for _ in range(OUTER_ITER):
        # the same properties as _wetbulb_map, in log form (fewer power functions)
        tref = 0.5 * (tw + ta)
        omega = (tref / 97.0 - 2.9) / 0.4 * (-0.034) + 1.048
        visc = VISC_C * math.sqrt(tref) / omega
        ln_re = math.log(max(speed, MIN_SPEED) * p * 100.0 * D_WICK / (R_AIR * tref * visc))
        h = 0.281 * math.exp(0.6 * ln_re) * PR_WICK * (CP + 1.25 * R_AIR) * visc / D_WICK
        ln_sc = math.log(visc) + LN_SC_C - 1.334 * math.log(tref / TC12)
        latent = (313.15 - tref) / 30.0 * (-71100.0) + 2.4073e6
        k = latent / RATIO * math.exp(0.56 * (math.log(PRANDTL) - ln_sc))
        inv_h = 1.0 / h
        gain = (se * longwave + absorbed) * inv_h
        t = tw
        for _ in range(NEWTON_ITER):
            es = _esat(t)
            inv = 1.0 / (p - es)
            q = 1.0 / (t - 32.18)
            t3 = t * t * t
            g = t - ta + k * (es - e_air) * inv - gain + se * t3 * t * inv_h
            dg = 1.0 + k * es * ESAT_B * q * q * (p - e_air) * inv * inv + 4.0 * se * t3 * inv_h
            step = g / dg
            t -= step
            if abs(step) < NEWTON_TOL:
                break
        moved = abs(t - tw)
        tw = t
        if moved < OUTER_TOL:
            return tw if math.isfinite(tw) else np.nan
    return np.nan


@njit(cache=True, fastmath=FAST, error_model="numpy")
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
        e_air = h * _esat(tk)
        t4 = tk * tk * tk * tk
        longwave = 0.5 * (0.575 * e_air ** 0.143 * t4 + EMIS_SFC * t4)
        tg = _globe(tk, p_hpa[i], wind_2m[i], s, f, cosz[i], longwave)
        tw = _natural_wetbulb(tk, e_air, p_hpa[i], wind_2m[i], s, f, cosz[i], longwave)
        out[i] = 0.7 * (tw - 273.15) + 0.2 * (tg - 273.15) + 0.1 * ta[i]
    return out


# (2 m / 10 m) ** exponent for stability classes A … F (urban power-law exponents)
_URBAN_FACTOR = tuple(0.2 ** e for e in (0.15, 0.15, 0.20, 0.25, 0.30, 0.30))


@njit(cache=True)
def wind_10m_to_2m(va10: np.ndarray, cosz: np.ndarray, solar: np.ndarray) -> np.ndarray:
    """Weather-station wind (10 m) → 2 m by a power law whose exponent follows the
    Pasquill–Gifford stability class (urban exponents), after Liljegren; floored at 0.13 m/s.
    The 10 m wind is first raised to the 0.62 m/s operational floor."""
    out = np.empty(va10.shape[0])
    factor = _URBAN_FACTOR
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
        out[i] = max(v * factor[cls - 1], MIN_SPEED)
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
