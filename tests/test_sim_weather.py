"""The sim's weather has no steps: a new day's extremes must not make every node's air
temperature jump at midnight (the gateway would rightly call that a spike on every node)."""

from __future__ import annotations

import numpy as np

from sim.places import weather
from sim.town import build_town, sim_epoch


def test_air_and_dew_point_change_smoothly_through_a_week_of_midnights() -> None:
    town = build_town(1, gateways=1, nodes=1, residents=1, households=1)
    t = sim_epoch() + np.arange(0, 7 * 86400, 60.0)
    w = [weather(town, float(x)) for x in t]
    air = np.array([x.air_c for x in w])
    dew = np.array([x.dewpoint_c for x in w])
    # a summer day: about 9 °C from 05:00 to 14:00, so well under 0.05 °C a minute
    assert np.abs(np.diff(air)).max() < 0.05
    assert np.abs(np.diff(dew)).max() < 0.01
    assert 5.0 < air.max() - air.min() < 20.0  # and still a day's cycle
