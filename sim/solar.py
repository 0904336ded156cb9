"""Sun position with azimuth (for shade from buildings), good to about a degree.

The sim's own, independent of the gateway's (gateway/kernels/sun.py, zenith only): the sim
also needs the azimuth for shade, and its radiation comes from sim/physics.py."""

from __future__ import annotations

import math


def sun_position(unix_time: float, lat: float, lon: float) -> tuple[float, float]:
    """(elevation°, azimuth° clockwise from north) from the NOAA-style low-precision formulas."""
    days = unix_time / 86400.0
    doy = (days % 365.2422)  # day of year, phase is adequate for declination
    gamma = 2 * math.pi / 365.0 * (doy - 1 + ((unix_time % 86400) / 3600.0 - 12) / 24)
    decl = (0.006918 - 0.399912 * math.cos(gamma) + 0.070257 * math.sin(gamma)
            - 0.006758 * math.cos(2 * gamma) + 0.000907 * math.sin(2 * gamma)
            - 0.002697 * math.cos(3 * gamma) + 0.00148 * math.sin(3 * gamma))
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(gamma) - 0.032077 * math.sin(gamma)
                       - 0.014615 * math.cos(2 * gamma) - 0.040849 * math.sin(2 * gamma))
    utc_min = (unix_time % 86400) / 60.0
    tst = utc_min + eqtime + 4 * lon  # true solar time, minutes
    ha = math.radians(tst / 4 - 180)
    phi = math.radians(lat)
    cos_z = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(ha)
    cos_z = max(-1.0, min(1.0, cos_z))
    zen = math.acos(cos_z)
    elev = 90 - math.degrees(zen)
    az = math.degrees(math.atan2(-math.sin(ha) * math.cos(decl),
                                 math.cos(phi) * math.sin(decl)
                                 - math.sin(phi) * math.cos(decl) * math.cos(ha))) % 360
    return elev, az
