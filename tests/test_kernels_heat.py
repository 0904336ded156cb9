"""Heat kernels against pythermalcomfort and thermofeel over input grids, plus sun and shade."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

from gateway.kernels.heat import (
    LEVEL_BOUNDS,
    heat_index,
    wbgt_indoor,
    wbgt_levels,
    wbgt_moe,
    wbgt_outdoor,
)
from gateway.kernels.liljegren import (
    _globe_map,
    _wetbulb_map,
    direct_fraction_erbs,
    wbgt_liljegren,
    wind_10m_to_2m,
)
from gateway.kernels.sun import SHADE, SUN, UNKNOWN, cos_zenith, sun_or_shade, surface_hot_spots
from gateway.kernels.utci import COEF, EXPONENTS, utci, vapour_pressure_kpa

TOL = 0.1  # °C, the bound
# pythermalcomfort builds its own functions with numba.vectorize, which fails without the JIT;
# the no-JIT run still checks our kernels against thermofeel (plain numpy) and the plain formulas
needs_jit_reference = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1",
                                         reason="pythermalcomfort needs numba's JIT")


def grid(*axes: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(a) for a in np.array(list(itertools.product(*axes))).T]


@needs_jit_reference
def test_measured_wbgt_matches_pythermalcomfort() -> None:
    from pythermalcomfort.models import wbgt

    tnw, tg, ta = grid(np.arange(0.0, 36.0, 1.5), np.arange(10.0, 70.0, 3.0),
                       np.arange(10.0, 46.0, 2.0))
    out_ref = wbgt(tnw, tg, ta, with_solar_load=True, round_output=False).wbgt
    in_ref = wbgt(tnw, tg, round_output=False).wbgt
    assert np.max(np.abs(wbgt_outdoor(tnw, tg, ta) - out_ref)) <= TOL
    assert np.max(np.abs(wbgt_indoor(tnw, tg) - in_ref)) <= TOL


@needs_jit_reference
@pytest.mark.filterwarnings("ignore:.*applicability limits")
def test_heat_index_matches_pythermalcomfort_and_is_undefined_below_27() -> None:
    from pythermalcomfort.models import heat_index_rothfusz

    ta, rh = grid(np.arange(20.0, 50.0, 0.5), np.arange(0.0, 101.0, 2.5))
    ref = heat_index_rothfusz(ta, rh, round_output=False).hi
    mine = heat_index(ta, rh)
    # both define it from 27 °C only
    assert np.array_equal(np.isnan(ref), np.isnan(mine))
    assert np.isnan(mine[ta < 27.0]).all()
    assert np.nanmax(np.abs(mine - ref)) <= TOL


def test_liljegren_matches_thermofeel_over_weather_grid() -> None:
    """Range: Ta −10…45 °C, RH 5…100 %, 10 m wind 0…15 m/s, solar 0…1000 W/m², cos z 0…0.95,
    direct fraction 0…1. thermofeel is Kelvin in/out and scales 10 m wind internally."""
    import thermofeel

    ta, rh, va, sr, cz, fd = grid(np.arange(-10.0, 46.0, 5.0), np.array([5.0, 30, 60, 100]),
                                  np.array([0.0, 1.0, 3.0, 8.0, 15.0]),
                                  np.array([0.0, 300.0, 1000.0]), np.array([0.0, 0.3, 0.95]),
                                  np.array([0.0, 0.5, 1.0]))
    p = np.full_like(ta, 1013.25)
    ref = thermofeel.calculate_wbgt_liljegren(ta + 273.15, rh, p, va, sr, fd, cz) - 273.15
    mine = wbgt_liljegren(ta, rh, p, wind_10m_to_2m(va, cz, sr), sr, fd, cz)
    assert np.isfinite(ref).all() and np.isfinite(mine).all()
    assert np.max(np.abs(mine - ref)) <= TOL


def test_liljegren_solution_is_the_reference_fixed_point() -> None:
    """The Newton solution satisfies the reference program's own maps: Tg = map(Tg), Tw = map(Tw)."""
    from gateway.kernels import liljegren as lj

    rng = np.random.default_rng(3)
    for _ in range(40):
        ta = rng.uniform(263.0, 318.0)
        rh = rng.uniform(0.05, 1.0)
        p = rng.uniform(950.0, 1030.0)
        speed = rng.uniform(0.1, 6.0)
        solar = rng.uniform(0.0, 1000.0)
        fdir = rng.uniform(0.0, 0.9)
        cosz = rng.uniform(0.05, 1.0)
        e_air = rh * lj._esat(ta)
        lw = 0.5 * (0.575 * e_air ** 0.143 * ta ** 4 + lj.EMIS_SFC * ta ** 4)
        tg = lj._globe(ta, p, speed, solar, fdir, cosz, lw)
        sw = solar / (2.0 * lj.SIGMA * lj.EMIS_GLOBE) * (1.0 - lj.ALB_GLOBE) * (
            fdir * (1.0 / (2.0 * cosz) - 1.0) + 1.0 + lj.ALB_SFC)
        assert abs(_globe_map(tg, ta, p, speed, lw, sw) - tg) < 0.01
        tw = lj._natural_wetbulb(ta, e_air, p, speed, solar, fdir, cosz, lw)
        absorbed = (1.0 - lj.ALB_WICK) * solar * (
            (1.0 - fdir) * (1.0 + 0.25 * lj.D_WICK / lj.L_WICK)
            + fdir * (np.tan(np.arccos(cosz)) / np.pi + 0.25 * lj.D_WICK / lj.L_WICK) + lj.ALB_SFC)
        assert abs(_wetbulb_map(tw, ta, p, speed, e_air, lw, absorbed) - tw) < 0.01


@needs_jit_reference
@pytest.mark.filterwarnings("ignore:.*applicability limits")
def test_utci_matches_pythermalcomfort_over_its_valid_range() -> None:
    """Range: Ta −50…50 °C, Tmrt − Ta −30…70 K, 10 m wind 0.5…17 m/s, RH 0…100 % (Pa ≤ 5 kPa);
    both return NaN outside it."""
    from pythermalcomfort.models import utci as ref_utci

    ta, dt, va, rh = grid(np.arange(-50.0, 50.1, 5.0), np.arange(-30.0, 70.1, 10.0),
                          np.array([0.5, 1.0, 3.0, 6.0, 10.0, 17.0]),
                          np.arange(0.0, 100.1, 20.0))
    ref = ref_utci(ta, ta + dt, va, rh, round_output=False).utci
    mine = utci(ta, ta + dt, va, rh)
    assert np.array_equal(np.isnan(ref), np.isnan(mine))
    assert np.isfinite(mine).sum() > 0.9 * mine.size
    assert np.nanmax(np.abs(mine - ref)) <= TOL


def test_utci_plain_reading_and_limits() -> None:
    """The published table: 210 distinct terms of degree ≤ 6; the kernel is Ta + Σ c·Ta^i·va^j·ΔT^k·Pa^l."""
    assert len({tuple(e) for e in EXPONENTS.tolist()}) == 210 and EXPONENTS.sum(axis=1).max() == 6
    ta, tmrt, va, rh = 31.0, 52.0, 2.0, 60.0
    pa = vapour_pressure_kpa(ta, rh)
    assert 2.6 < pa < 2.8  # 60 % of ~4.49 kPa at 31 °C
    plain = ta + sum(c * ta ** i * va ** j * (tmrt - ta) ** k * pa ** m
                     for c, (i, j, k, m) in zip(COEF.tolist(), EXPONENTS.tolist(), strict=True))
    got = utci(np.array([ta, ta, 60.0, ta]), np.array([tmrt, ta - 40.0, tmrt, tmrt]),
               np.array([va, va, va, 0.2]), np.array([rh, rh, rh, rh]))
    assert got[0] == pytest.approx(plain, abs=1e-9)
    assert got[0] > ta  # sun-loaded, humid: hotter than the air
    assert np.isnan(got[1:]).all()  # Tmrt − Ta < −30, Ta > 50, wind < 0.5 m/s


def test_measured_wbgt_and_heat_index_plain_reading() -> None:
    assert wbgt_outdoor(np.array([25.0]), np.array([45.0]), np.array([33.0]))[0] == \
        pytest.approx(0.7 * 25 + 0.2 * 45 + 0.1 * 33)
    assert wbgt_indoor(np.array([25.0]), np.array([30.0]))[0] == pytest.approx(0.7 * 25 + 9.0)
    # NWS table: 90 °F at 60 % RH → 100 °F
    assert heat_index(np.array([(90 - 32) / 1.8]), np.array([60.0]))[0] == \
        pytest.approx((100 - 32) / 1.8, abs=0.5)


def test_moe_formula_plain_reading() -> None:
    rng = np.random.default_rng(5)
    ta, rh, sr, ws = rng.uniform(20, 40, 50), rng.uniform(20, 90, 50), rng.uniform(0, 1, 50), \
        rng.uniform(0, 6, 50)
    plain = (0.735 * ta + 0.0374 * rh + 0.00292 * ta * rh + 7.619 * sr - 4.557 * sr ** 2
             - 0.0572 * ws - 4.064)
    assert np.allclose(wbgt_moe(ta, rh, sr, ws), plain)


def test_levels_hold_until_hysteresis_is_passed() -> None:
    series = np.array([24.9, 25.1, 24.8, 24.6, 24.4, 28.2, 27.9, 27.4])
    prev = np.array([-1])
    got = []
    for w in series:
        lvl = wbgt_levels(np.array([w]), LEVEL_BOUNDS, prev, 0.5)[0]
        prev[0] = lvl
        got.append(int(lvl))
    # 24.8 and 24.6 stay 警戒 (within 0.5 of 25); 24.4 drops; 27.9 stays 厳重警戒, 27.4 drops
    assert got == [1, 2, 2, 2, 1, 3, 3, 2]


def test_sun_position_known_cases() -> None:
    # Tokyo, June solstice: solar noon elevation ≈ 90 − 35.68 + 23.44
    day = np.datetime64("2024-06-21T00:00:00", "s").astype(np.int64)
    t = (day + np.arange(0, 86400, 60)).astype(np.float64)
    cz = cos_zenith(t, 35.68, 139.77)
    noon = int(np.argmax(cz))
    assert abs(np.degrees(np.arcsin(cz[noon])) - (90 - 35.68 + 23.44)) < 0.5
    # solar noon at 139.77°E is about 02:41 UTC (11:41 JST)
    assert abs(noon - (2 * 60 + 41)) <= 4
    # equator at the March equinox: sun nearly overhead at local solar noon, down at midnight
    eq = np.datetime64("2024-03-20T12:00:00", "s").astype(np.int64)
    c2 = cos_zenith(np.array([eq, eq + 43200], dtype=np.float64), 0.0, 0.0)
    assert c2[0] > 0.999 and c2[1] < -0.99


def test_direct_fraction_is_zero_at_night_and_high_under_clear_sky() -> None:
    f = direct_fraction_erbs(np.array([0.0, 900.0, 80.0]), np.array([-0.2, 0.8, 0.8]))
    assert f[0] == 0.0 and f[1] > 0.7 and f[2] < 0.1


def test_sun_or_shade_with_hysteresis() -> None:
    state = np.full(1, UNKNOWN, dtype=np.int64)
    cz = np.full(1, 0.8)
    clear_lux = 1098 * 0.8 * np.exp(-0.057 / 0.8) * 110.0
    seq = [0.9, 0.5, 0.2, 0.5, 0.9]
    got = [int(sun_or_shade(np.array([r * clear_lux]), cz, 110.0, 0.6, 0.3, 0.1, state)[0])
           for r in seq]
    assert got == [SUN, SUN, SHADE, SHADE, SUN]
    low = sun_or_shade(np.array([100.0]), np.array([0.05]), 110.0, 0.6, 0.3, 0.1, state)
    assert low[0] == UNKNOWN


def test_surface_hot_spots() -> None:
    air = np.full(8, 30.0)
    surface = np.array([38.0, 39.0, 37.5, 38.5, 52.0, 38.0, np.nan, 39.5])
    hot = surface_hot_spots(surface, air, 10.0, 3.0)
    assert hot.tolist() == [False, False, False, False, True, False, False, False]


@pytest.mark.parametrize("n", [1, 7])
def test_liljegren_no_sun_equals_shade_value(n: int) -> None:
    ta = np.full(n, 30.0)
    rh = np.full(n, 60.0)
    p = np.full(n, 1013.0)
    w = np.full(n, 1.0)
    zero = np.zeros(n)
    night = wbgt_liljegren(ta, rh, p, w, zero, zero, np.full(n, -0.5))
    sunny = wbgt_liljegren(ta, rh, p, w, np.full(n, 800.0), np.full(n, 0.8), np.full(n, 0.8))
    assert (sunny > night + 1.0).all()
