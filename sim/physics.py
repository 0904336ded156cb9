"""The sim's own physics of a street in the sun: sky radiation, and the true WBGT of a place.

Written for the sim alone, sharing nothing with gateway/kernels, so that the gateway's estimate
can be checked against it (bench/wbgt_truth.py). The natural wet-bulb and the black-globe
temperature come from the steady energy balance of each instrument as ISO 7243 defines them:
a wetted cotton wick (6 mm × 30 mm cylinder) and a 150 mm matt-black copper sphere, exposed to
the air, the wind, the sun's beam, the diffuse sky, the ground's reflection and long-wave
exchange with the sky and the ground. Each balance is solved by bisection (monotone in the
unknown temperature). Correlations: Churchill–Bernstein (cylinder in cross-flow), Whitaker
(sphere), Brutsaert (clear-sky emissivity), Kasten–Young (air mass), Meinel (clear-sky beam).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SIGMA = 5.670374419e-8  # Stefan–Boltzmann, W/m²K⁴
SOLAR_CONSTANT = 1361.0  # W/m²
P_HPA = 1010.0
K0 = 273.15

# Instruments (ISO 7243 / the usual heat-stress meters)
GLOBE_D = 0.150
GLOBE_EMISSIVITY = 0.95
GLOBE_ABSORPTIVITY = 0.95
WICK_D = 0.006
WICK_L = 0.030
WICK_EMISSIVITY = 0.95
WICK_ABSORPTIVITY = 0.60  # white wetted cotton


# ---- the sky

def air_mass(elev_deg: float) -> float:
    """Kasten & Young (1989) relative optical air mass; large near the horizon."""
    if elev_deg <= 0:
        return math.inf
    z = 90.0 - elev_deg
    return 1.0 / (math.cos(math.radians(z)) + 0.50572 * (96.07995 - z) ** -1.6364)


@dataclass(frozen=True)
class Sky:
    dni: float  # direct normal irradiance, W/m²
    dhi: float  # diffuse horizontal, W/m²
    elev: float  # sun elevation, degrees
    cloud: float  # cover fraction 0..1

    @property
    def ghi(self) -> float:
        return self.dni * max(0.0, math.sin(math.radians(self.elev))) + self.dhi


def sky(elev_deg: float, day_of_year: int, cloud: float) -> Sky:
    """Beam and diffuse radiation for a sun elevation and a cloud cover.

    Clear sky: Meinel's beam 0.7^(AM^0.678) of the eccentricity-corrected solar constant and a
    diffuse part of 12 % of the beam (a hazy summer sky). Clouds remove beam in proportion to
    their cover and turn part of it into diffuse light (Kasten–Czeplak's global reduction).
    """
    if elev_deg <= 0:
        return Sky(0.0, 0.0, elev_deg, cloud)
    i0 = SOLAR_CONSTANT * (1 + 0.033 * math.cos(2 * math.pi * day_of_year / 365.0))
    dni_clear = i0 * 0.7 ** (air_mass(elev_deg) ** 0.678)
    sin_e = math.sin(math.radians(elev_deg))
    dhi_clear = 0.12 * dni_clear * sin_e ** 0.5 + 20.0 * sin_e
    ghi_clear = dni_clear * sin_e + dhi_clear
    ghi = ghi_clear * (1 - 0.75 * cloud ** 3.4)
    dni = dni_clear * (1 - cloud) ** 1.2
    dhi = max(dhi_clear, ghi - dni * sin_e)
    return Sky(dni, dhi, elev_deg, cloud)


def vapour_pressure_hpa(t_c: float) -> float:
    """Saturation vapour pressure over water (Buck 1981), hPa."""
    return 6.1121 * math.exp((18.678 - t_c / 234.5) * (t_c / (257.14 + t_c)))


def sky_emissivity(air_c: float, rh: float, cloud: float) -> float:
    """Brutsaert (1975) clear-sky emissivity, raised by cloud (Crawford & Duchon form)."""
    e = rh / 100.0 * vapour_pressure_hpa(air_c)
    clear = 1.24 * (e / (air_c + K0)) ** (1 / 7)
    return min(1.0, clear * (1 - cloud) + cloud)


# ---- air properties

def _air(t_c: float) -> tuple[float, float, float, float]:
    """(density kg/m³, kinematic viscosity m²/s, conductivity W/mK, water diffusivity m²/s)."""
    t = t_c + K0
    rho = P_HPA * 100 / (287.05 * t)
    mu = 1.458e-6 * t ** 1.5 / (t + 110.4)  # Sutherland
    k = 0.0241 * (t / K0) ** 0.81
    d = 2.26e-5 * (t / K0) ** 1.81 * (1013.25 / P_HPA)
    return rho, mu / rho, k, d


CP_AIR = 1005.0
PR = 0.71


def _h_sphere(d: float, wind: float, t_c: float) -> float:
    """Convective coefficient of a sphere, Whitaker (1972), with a natural-convection floor."""
    _rho, nu, k, _ = _air(t_c)
    re = max(wind, 0.1) * d / nu
    nu_s = 2 + (0.4 * re ** 0.5 + 0.06 * re ** (2 / 3)) * PR ** 0.4
    return nu_s * k / d


def _nu_cylinder(re: float) -> float:
    """Churchill & Bernstein (1977), cylinder in cross-flow."""
    return 0.3 + (0.62 * re ** 0.5 * PR ** (1 / 3) / (1 + (0.4 / PR) ** (2 / 3)) ** 0.25
                  * (1 + (re / 282000) ** (5 / 8)) ** (4 / 5))


# ---- the place

@dataclass(frozen=True)
class PlaceState:
    """The physical state of a spot 1.5 m above a street at one moment."""

    air_c: float
    rh: float  # %
    wind_ms: float
    sky: Sky
    sunlit: float  # fraction of the beam that reaches the spot (0 in a building's shadow)
    sky_view: float  # fraction of the sky hemisphere not hidden by buildings and trees
    ground_c: float  # temperature of the surrounding ground, °C
    albedo: float  # of the ground


def _shortwave_on_globe(p: PlaceState) -> float:
    """W/m² absorbed per m² of sphere surface: beam on its cross-section (¼ of its area),
    diffuse from the visible sky and light reflected from the ground (each on ½ of it)."""
    beam = p.sky.dni * p.sunlit / 4.0
    diffuse = p.sky.dhi * p.sky_view / 2.0
    ground = p.albedo * (p.sky.dni * p.sunlit * max(0.0, math.sin(math.radians(p.sky.elev)))
                         + p.sky.dhi * p.sky_view) / 2.0
    return beam + diffuse + ground


def _longwave_in(p: PlaceState) -> float:
    """Down-welling from sky (and building walls where the sky is hidden), up from the ground:
    mean irradiance over a sphere, W/m²."""
    sky_lw = sky_emissivity(p.air_c, p.rh, p.sky.cloud) * SIGMA * (p.air_c + K0) ** 4
    walls = SIGMA * (p.air_c + 1.0 + K0) ** 4  # walls near air temperature
    down = p.sky_view * sky_lw + (1 - p.sky_view) * walls
    up = 0.95 * SIGMA * (p.ground_c + K0) ** 4
    return (down + up) / 2.0


def _bisect(f: object, lo: float, hi: float, tol: float = 1e-4) -> float:
    fn = f  # a callable that is decreasing in its argument
    assert callable(fn)
    for _ in range(80):
        mid = (lo + hi) / 2
        if fn(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    return (lo + hi) / 2


def globe_temperature(p: PlaceState) -> float:
    """Black-globe temperature, °C: absorbed radiation = emitted + convected away."""
    gained = GLOBE_ABSORPTIVITY * _shortwave_on_globe(p) + GLOBE_EMISSIVITY * _longwave_in(p)

    def net(tg: float) -> float:
        h = _h_sphere(GLOBE_D, p.wind_ms, (tg + p.air_c) / 2)
        return gained - GLOBE_EMISSIVITY * SIGMA * (tg + K0) ** 4 - h * (tg - p.air_c)

    return _bisect(net, p.air_c - 30, p.air_c + 60)


def natural_wet_bulb(p: PlaceState) -> float:
    """Natural (unventilated, sun-exposed) wet-bulb temperature, °C: radiation and convection
    into the wick = latent heat of the water it evaporates (Chilton–Colburn analogy)."""
    # A vertical cylinder: the beam falls on its projected area D·L at the sun's elevation.
    area = math.pi * WICK_D * WICK_L
    cos_e = math.cos(math.radians(max(0.0, p.sky.elev)))
    beam = p.sky.dni * p.sunlit * WICK_D * WICK_L * cos_e / area
    sw = beam + p.sky.dhi * p.sky_view / 2 + p.albedo * p.sky.ghi * p.sky_view / 2
    gained = WICK_ABSORPTIVITY * sw + WICK_EMISSIVITY * _longwave_in(p)
    e_air = p.rh / 100.0 * vapour_pressure_hpa(p.air_c)

    def net(tw: float) -> float:
        tf = (tw + p.air_c) / 2
        rho, nu, k, dv = _air(tf)
        re = max(p.wind_ms, 0.1) * WICK_D / nu
        h = _nu_cylinder(re) * k / WICK_D
        sc = nu / dv
        # Mass transfer from heat transfer: h_m = h / (rho·cp) · (Pr/Sc)^(2/3)
        hm = h / (rho * CP_AIR) * (PR / sc) ** (2 / 3)
        lv = (2501.0 - 2.361 * tw) * 1000.0  # J/kg
        rho_v = lambda e, t: e * 100 / (461.5 * (t + K0))
        evap = hm * (rho_v(vapour_pressure_hpa(tw), tw) - rho_v(e_air, p.air_c)) * lv
        return (gained - WICK_EMISSIVITY * SIGMA * (tw + K0) ** 4 + h * (p.air_c - tw) - evap)

    return _bisect(net, p.air_c - 40, p.air_c + 20)


@dataclass(frozen=True)
class Wbgt:
    wbgt: float
    natural_wet_bulb: float
    globe: float
    air: float


def wbgt(p: PlaceState) -> Wbgt:
    """ISO 7243 outdoor WBGT = 0.7·Tnw + 0.2·Tg + 0.1·Ta from the place's physical state."""
    tnw = natural_wet_bulb(p)
    tg = globe_temperature(p)
    return Wbgt(0.7 * tnw + 0.2 * tg + 0.1 * p.air_c, tnw, tg, p.air_c)


# ---- what the chips see

# Luminous efficacy of daylight, lm/W: the beam is "warmer" than the blue diffuse sky.
EFFICACY_BEAM = 95.0
EFFICACY_DIFFUSE = 125.0


def illuminance(p: PlaceState) -> float:
    """Lux on an upward-facing window at the spot (the BH1750 on top of the node)."""
    sin_e = max(0.0, math.sin(math.radians(p.sky.elev)))
    return (EFFICACY_BEAM * p.sky.dni * p.sunlit * sin_e
            + EFFICACY_DIFFUSE * p.sky.dhi * p.sky_view)


# Surface properties: shortwave absorptivity, and the heat carried away per kelvin above air
# (convection + long-wave linearised + evaporation for grass), W/m²K.
SURFACES = {"asphalt": (0.90, 22.0), "concrete": (0.65, 22.0), "grass": (0.77, 45.0)}


def surface_temperature(p: PlaceState, surface: str) -> float:
    """Steady surface temperature of the ground patch: absorbed sunlight and long-wave balance
    over its loss coefficient (heat storage ignored: the sim has no thermal memory)."""
    alpha, loss = SURFACES[surface]
    sin_e = max(0.0, math.sin(math.radians(p.sky.elev)))
    sw = alpha * (p.sky.dni * p.sunlit * sin_e + p.sky.dhi * p.sky_view)
    sky_lw = sky_emissivity(p.air_c, p.rh, p.sky.cloud) * SIGMA * (p.air_c + K0) ** 4
    lw_deficit = p.sky_view * 0.95 * (SIGMA * (p.air_c + K0) ** 4 - sky_lw)
    return p.air_c + (sw - lw_deficit) / loss
