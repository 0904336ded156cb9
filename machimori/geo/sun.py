"""The sun's position (elevation and azimuth) for shade: the NOAA solar calculator's equations
(Meeus, low precision), good to about 0.01° for 1950–2050, with atmospheric refraction.

Plain numpy, no dependency on the gateway or the sim: each keeps its own sun model.
"""

from __future__ import annotations

import numpy as np

UNIX_EPOCH_JD = 2440587.5
J2000_JD = 2451545.0


def sun_position(unix_time: float | np.ndarray, lat: float,
                 lon: float) -> tuple[np.ndarray, np.ndarray]:
    """(elevation°, azimuth° clockwise from north) at Unix time(s) for a place (lat, lon°)."""
    t_unix = np.asarray(unix_time, dtype=np.float64)
    jd = t_unix / 86400.0 + UNIX_EPOCH_JD
    T = (jd - J2000_JD) / 36525.0  # Julian centuries since J2000
    l0 = np.radians((280.46646 + T * (36000.76983 + T * 0.0003032)) % 360.0)
    m = np.radians(357.52911 + T * (35999.05029 - 0.0001537 * T))
    ecc = 0.016708634 - T * (0.000042037 + 0.0000001267 * T)
    centre = (np.sin(m) * (1.914602 - T * (0.004817 + 0.000014 * T))
              + np.sin(2 * m) * (0.019993 - 0.000101 * T) + np.sin(3 * m) * 0.000289)
    omega = np.radians(125.04 - 1934.136 * T)
    app_long = np.radians(np.degrees(l0) + centre - 0.00569 - 0.00478 * np.sin(omega))
    eps0 = 23.0 + (26.0 + (21.448 - T * (46.815 + T * (0.00059 - T * 0.001813))) / 60.0) / 60.0
    eps = np.radians(eps0 + 0.00256 * np.cos(omega))
    decl = np.arcsin(np.sin(eps) * np.sin(app_long))
    y = np.tan(eps / 2) ** 2
    eqtime = 4.0 * np.degrees(  # minutes
        y * np.sin(2 * l0) - 2 * ecc * np.sin(m) + 4 * ecc * y * np.sin(m) * np.cos(2 * l0)
        - 0.5 * y * y * np.sin(4 * l0) - 1.25 * ecc * ecc * np.sin(2 * m))
    minutes_utc = (t_unix % 86400.0) / 60.0
    true_solar = (minutes_utc + eqtime + 4.0 * lon) % 1440.0
    ha = np.radians(true_solar / 4.0 - 180.0)
    phi = np.radians(lat)
    cos_z = np.clip(np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(ha), -1, 1)
    elev = 90.0 - np.degrees(np.arccos(cos_z))
    az = (np.degrees(np.arctan2(np.sin(ha), np.cos(ha) * np.sin(phi)
                                - np.tan(decl) * np.cos(phi))) + 180.0) % 360.0
    return elev + refraction(elev), az


def refraction(elev_deg: np.ndarray) -> np.ndarray:
    """Bennett's refraction (degrees) for an apparent altitude; none below -1°."""
    e = np.asarray(elev_deg, dtype=np.float64)
    safe = np.maximum(e, -1.0)
    r = 1.0 / np.tan(np.radians(safe + 7.31 / (safe + 4.4))) / 60.0
    return np.where(e > -1.0, r, 0.0)
