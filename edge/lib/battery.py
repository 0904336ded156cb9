"""Battery level from a resistor divider on an ADC pin: millivolts, then % on a Li-ion curve."""

# (mV, %) points of a single Li-ion / LiPo cell at light load; linear in between.
_CURVE = ((3300, 0), (3500, 5), (3600, 10), (3700, 25), (3750, 40), (3800, 50), (3850, 60),
          (3950, 75), (4050, 88), (4150, 97), (4200, 100))
LOW_PERCENT = 15


def percent(mv):
    if mv <= _CURVE[0][0]:
        return 0
    for i in range(1, len(_CURVE)):
        v1, p1 = _CURVE[i]
        if mv <= v1:
            v0, p0 = _CURVE[i - 1]
            return p0 + (p1 - p0) * (mv - v0) // (v1 - v0)
    return 100


def read_mv(adc, divider):
    """ESP32 ADCs are calibrated in µV by read_uv(); the divider scales back to the cell."""
    return adc.read_uv() * divider // 1000
