"""Anomaly, sensor-fault, watch and people-counting kernels: behaviour on made-up streams."""

from __future__ import annotations

import numpy as np

from gateway.kernels import anomaly, faults, people, watch


def daily_series(days: int, step: float = 300.0, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(0, days * 86400, step)
    x = 20 + 5 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 0.3, t.shape[0])
    return t.astype(np.float64), x


def test_detector_streaming_equals_batch_and_stays_in_range() -> None:
    t, x = daily_series(6)
    whole = anomaly.detect_series(t, x)
    st, slots, ngrams, tails = anomaly.new_state()
    parts = np.empty_like(whole)
    for lo in range(0, len(x), 97):  # uneven batches, as a live stream delivers them
        anomaly.detect_batch(t[lo:lo + 97], x[lo:lo + 97], anomaly.DEFAULT_PARAMS, st, slots,
                             ngrams, tails, parts[lo:lo + 97])
    assert np.array_equal(whole, parts)
    assert whole.min() >= 0.0 and whole.max() < 1.0


def test_detector_scores_a_level_shift_above_normal_days() -> None:
    t, x = daily_series(8)
    shift_at = len(x) * 3 // 4
    x[shift_at:] += 6.0
    s = anomaly.detect_series(t, x)
    normal = s[len(x) // 4:shift_at - 10]
    assert s[shift_at:shift_at + 12].max() > normal.max()


def test_detector_skips_nan() -> None:
    t, x = daily_series(2)
    x[100] = np.nan
    s = anomaly.detect_series(t, x)
    assert s[100] == 0.0 and np.isfinite(s).all()


def test_fault_flags() -> None:
    rng = np.random.default_rng(2)
    x = 25 + rng.normal(0, 0.2, 200)
    x[50] = 40.0  # spike
    x[60] = np.nan  # dropout
    x[70] = 150.0  # impossible for air temperature
    x[100:110] = 25.0  # stuck
    st = faults.new_fault_state()[0]
    f = faults.fault_flags(x, -40.0, 85.0, 6, 8.0, 0.05, st)
    assert f[50] & faults.SPIKE and f[60] == faults.DROPOUT and f[70] == faults.OUT_OF_RANGE
    assert all(f[i] & faults.STUCK for i in range(105, 110))
    assert not f[100] & faults.STUCK
    quiet = np.delete(np.arange(200), [50, 60, 70, *range(100, 110)])
    assert (f[quiet] == 0).all()


def test_silence_and_neighbour_disagreement() -> None:
    assert faults.silent(np.array([0.0, 500.0]), 700.0, np.array([600.0, 600.0])).tolist() == \
        [True, False]
    vals = np.array([30.1, 30.4, 29.9, 34.6, np.nan, 30.2])
    ref = np.array([True, True, True, False, True, True])
    d = faults.neighbour_disagreement(vals, ref, 3)
    assert abs(d[3] - (34.6 - 30.15)) < 1e-9 and np.isnan(d[4]) and abs(d[0]) < 0.5


def household(days: int, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """One reading a minute: 80 W fridge with a compressor cycle; 07–09 h and 18–22 h cooking/TV."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, days * 86400, 60).astype(np.float64)
    hod = (t % 86400) / 3600
    p = 80 + 40 * ((t // 1200) % 2) + rng.normal(0, 2, t.shape[0]).round()
    busy = ((hod >= 7) & (hod < 9)) | ((hod >= 18) & (hod < 22))
    p = p + busy * rng.choice([0, 300, 1200], t.shape[0], p=[0.5, 0.4, 0.1])
    return t, p


def test_meter_quiet_on_normal_days_and_alarms_when_flat() -> None:
    t, p = household(21)
    st, prof = watch.new_meter_state(0.0, learn_days=14)
    f = watch.meter_watch(t, p, 30.0, 2000.0, 1.5, 4 * 3600.0, 200.0, 0.5, st, prof)
    assert (f == 0).all()
    # day 22: the household goes flat at 02:00 (only the fridge's steady draw, no cycling)
    t2 = np.arange(21 * 86400, 22 * 86400, 60).astype(np.float64)
    p2 = np.full(t2.shape[0], 80.0)
    f2 = watch.meter_watch(t2, p2, 30.0, 2000.0, 1.5, 4 * 3600.0, 200.0, 0.5, st, prof)
    assert (f2 & watch.NO_LIFE).any() and (f2 & watch.MORNING_MISSING).any()
    assert not (f2[: 3 * 60] & watch.NO_LIFE).any()  # not within the first hour of flat


def test_meter_continuous_use() -> None:
    t, p = household(15)
    st, prof = watch.new_meter_state(0.0, learn_days=14)
    watch.meter_watch(t, p, 30.0, 1000.0, 1.5, 4 * 3600.0, 200.0, 0.5, st, prof)
    t2 = np.arange(15 * 86400, 15 * 86400 + 6 * 3600, 60).astype(np.float64)
    p2 = np.full(t2.shape[0], 1300.0) + (np.arange(t2.shape[0]) % 2) * 50
    f2 = watch.meter_watch(t2, p2, 30.0, 1000.0, 1.5, 4 * 3600.0, 200.0, 0.5, st, prof)
    assert (f2 & watch.CONTINUOUS).any() and not (f2[:10] & watch.CONTINUOUS).any()


def test_tags_not_seen_and_night_wandering() -> None:
    n_tags, n_gw = 2, 3
    last = np.full(n_tags, np.nan)
    gap = np.zeros(n_tags)
    counts = np.zeros((n_tags, n_gw))
    routine, days = watch.new_tag_routine(n_tags)
    t = np.arange(0, 3 * 86400, 600).astype(np.float64)
    tag = np.zeros(t.shape[0], dtype=np.int64)
    gw = np.zeros(t.shape[0], dtype=np.int64)
    night = np.zeros(t.shape[0], dtype=np.bool_)
    flags = watch.tag_sightings(t, tag, gw, night, last, gap, counts, routine, days, 3.0)
    assert not flags.any() and gap[0] == 600.0
    late = watch.tag_sightings(np.array([3 * 86400.0]), np.array([0]), np.array([2]),
                               np.array([True]), last, gap, counts, routine, days, 3.0)
    assert late[0]
    now = 3 * 86400.0 + 7200
    assert watch.tags_not_seen(now, last, gap, routine, days, 2.0,
                               3600.0).tolist() == [True, False]


def test_sos_and_fall_first() -> None:
    from gateway.detect import PRIORITY  # the one priority table events leave with

    assert PRIORITY["sos"] == PRIORITY["fall"] == 3 == max(PRIORITY.values())
    assert all(p < 3 for k, p in PRIORITY.items() if k not in ("sos", "fall"))


def test_siphash_reference_vector_and_daily_keys() -> None:
    key = np.array([0x0706050403020100, 0x0F0E0D0C0B0A0908], dtype=np.uint64)
    # SipHash-2-4 paper, Appendix A: key 00..0f, message 00..07 → 62 24 93 9a 79 f5 f5 93
    h = people.siphash24(np.array([0x0706050403020100], dtype=np.uint64), key)
    assert int(h[0]) == 0x93F5F5799A932462
    mac = np.array([people.mac_to_int("AA:BB:CC:DD:EE:FF")], dtype=np.uint64)
    k1 = people.daily_key(b"secret", "2025-07-01")
    k2 = people.daily_key(b"secret", "2025-07-02")
    assert people.siphash24(mac, k1)[0] != people.siphash24(mac, k2)[0]


def test_hll_counts_within_error() -> None:
    rng = np.random.default_rng(9)
    key = people.daily_key(b"k", "2025-01-01")
    regs = np.zeros((3, people.HLL_M), dtype=np.uint8)
    for g, n in enumerate([20, 3000, 40000]):
        macs = rng.integers(0, 2 ** 48, n, dtype=np.uint64)
        h = people.siphash24(np.concatenate([macs, macs]), key)  # every device heard twice
        people.hll_add(h, np.full(h.shape[0], g, dtype=np.int64), regs)
    est = people.hll_count(regs)
    for got, n in zip(est, [20, 3000, 40000], strict=True):
        assert abs(got - n) / n < 0.1


def test_dwell_time() -> None:
    keys = np.zeros(64, dtype=np.uint64)
    first = np.zeros(64)
    last = np.zeros(64)
    h = np.array([11, 22, 11, 33, 22], dtype=np.uint64)
    t = np.array([0.0, 10.0, 300.0, 400.0, 900.0])
    assert people.dwell_update(h, t, keys, first, last) == 0
    done = people.dwell_close(1000.0, 500.0, keys, first, last)
    assert sorted(done.tolist()) == [0.0, 300.0]  # device 33 seen once; device 11 for 300 s
    assert people.dwell_update(np.array([22], dtype=np.uint64), np.array([950.0]), keys, first,
                               last) == 0
    assert sorted(people.dwell_close(5000.0, 500.0, keys, first, last).tolist()) == [940.0]


def test_recurring_spikes_stop_alarming_but_a_new_kind_of_spike_does() -> None:
    """Raw surprises are tail probabilities against each feature's own history and the score is
    their likelihood: a spike that recurs every 50 readings becomes ordinary, a spike twice as
    large as any before (beyond the range seen) alarms."""
    rng = np.random.default_rng(5)
    n = 3000
    t = np.arange(n, dtype=np.float64) * 300.0
    x = 10.0 + rng.normal(0, 0.2, n)
    x[::50] += 5.0
    x[2525] += 10.0  # off the 50-reading beat, and larger than any spike so far
    params = anomaly.DEFAULT_PARAMS.copy()
    params[anomaly.P_SUPPRESS] = 0  # the score itself, without the rest after an alarm
    s = anomaly.detect_series(t, x, params)
    late_spikes = s[1500:2500:50]
    assert late_spikes.max() < params[anomaly.P_ALARM] < s[2525]
    # with the rest, an alarm is not repeated for readings that do not clearly beat it
    damped = anomaly.detect_series(t, x)
    assert (np.diff(np.flatnonzero(damped >= params[anomaly.P_ALARM])) > 1).all()


def test_nothing_scores_in_the_probation_and_a_value_beyond_the_range_scores_1() -> None:
    rng = np.random.default_rng(6)
    n = 1500
    t = np.arange(n, dtype=np.float64) * 600.0
    x = 5.0 + rng.normal(0, 1.0, n)
    x[100] = 40.0  # during the probation: learnt, never scored
    x[1200] = 60.0  # beyond everything seen by far more than `spatial` of the range
    params = anomaly.DEFAULT_PARAMS.copy()
    params[anomaly.P_PROBATION] = 400
    s = anomaly.detect_series(t, x, params)
    assert (s[:400] == 0).all()
    assert s[1200] == 1.0
    assert (s[400:1200] < params[anomaly.P_ALARM]).all()  # plain noise, one spike long learnt


def test_a_run_of_unusual_readings_alarms_where_each_alone_would_not() -> None:
    """The likelihood layer: the noise doubles for a stretch without leaving the range seen;
    no single reading is extreme, but their average surprise is: one alarm, within the stretch."""
    rng = np.random.default_rng(7)
    n = 4000
    t = np.arange(n, dtype=np.float64) * 600.0
    x = rng.normal(0, 1.0, n)
    x[:20] = [4.5, -4.5] * 10  # the range is wide from the start
    x[3000:3200] = np.clip(rng.normal(0, 2.2, 200), -4.4, 4.4)
    s = anomaly.detect_series(t, x)
    alarm = anomaly.DEFAULT_PARAMS[anomaly.P_ALARM]
    assert (s[600:3000] < alarm).all()
    hits = np.flatnonzero(s[3000:3200] >= alarm)
    assert len(hits) == 1


def test_the_rest_after_an_alarm_scales_with_the_probation() -> None:
    """Two shifts to new levels 100 readings apart: a rest of 0.15 × 400 = 60 readings lets the
    second one alarm; a rest of 0.15 × 1000 = 150 silences it (one episode)."""
    rng = np.random.default_rng(8)
    n = 3000
    t = np.arange(n, dtype=np.float64) * 600.0
    x = rng.normal(0, 1.0, n)
    x[2000:] += 8.0
    x[2100:] += 8.0
    alarm = anomaly.DEFAULT_PARAMS[anomaly.P_ALARM]
    for probation, alarms in ((400.0, 2), (1000.0, 1)):
        params = anomaly.DEFAULT_PARAMS.copy()
        params[anomaly.P_PROBATION] = probation
        s = anomaly.detect_series(t, x, params)
        assert np.count_nonzero(s[2000:] >= alarm) == alarms, probation


def test_inline_log_matches_math_log() -> None:
    import math

    buf = np.empty(1)
    bits = buf.view(np.int64)
    ys = np.concatenate([np.linspace(1.0, 3.0, 999), np.logspace(-12, 12, 999)])
    err = max(abs(anomaly._ln(float(y), buf, bits) - math.log(y)) for y in ys)
    assert err < 1e-8


def test_an_absent_day_does_not_enter_the_household_profile() -> None:
    t, p = household(21)
    st, prof = watch.new_meter_state(0.0, learn_days=14)
    watch.meter_watch(t, p, 30.0, 2000.0, 1.5, 4 * 3600.0, 200.0, 0.5, st, prof)
    before = prof.copy()
    # Day 22: nobody home (flat), alarms raised; its hours must teach the profile nothing.
    t2 = np.arange(21 * 86400, 22 * 86400, 60).astype(np.float64)
    f2 = watch.meter_watch(t2, np.full(t2.shape[0], 80.0), 30.0, 2000.0, 1.5, 4 * 3600.0,
                           200.0, 0.5, st, prof)
    assert (f2 & watch.NO_LIFE).any() and (f2 & watch.MORNING_MISSING).any()
    alarmed = [watch.hour_of_week(x) for x in t2[(f2 & watch.NO_LIFE) > 0]]
    assert np.array_equal(prof[alarmed], before[alarmed])


def test_a_hospital_stay_does_not_widen_a_tags_gap() -> None:
    last, gap, counts = np.full(1, np.nan), np.zeros(1), np.zeros((1, 1))
    routine, days = watch.new_tag_routine(1)
    t = np.arange(0, 86400, 600).astype(np.float64)  # heard every 10 min for a day
    zeros = np.zeros(t.shape[0], dtype=np.int64)
    watch.tag_sightings(t, zeros, zeros, np.zeros(t.shape[0], np.bool_), last, gap, counts,
                        routine, days, 3.0, 1.5, 4 * 3600.0)
    # Three days unheard (an alarm: longer than the 4 h floor), then back.
    back = np.array([4 * 86400.0])
    watch.tag_sightings(back, np.zeros(1, np.int64), np.zeros(1, np.int64),
                        np.zeros(1, np.bool_), last, gap, counts, routine, days, 3.0, 1.5,
                        4 * 3600.0)
    assert gap[0] == 600.0 and routine.max() == 600.0
    assert watch.tags_not_seen(4 * 86400.0 + 5 * 3600, last, gap, routine, days, 1.5,
                               4 * 3600.0)[0]
    # While learning, a long but ordinary gap (an afternoon out) is learnt; more than a day not.
    watch.tag_sightings(np.array([4 * 86400.0 + 6 * 3600, 6 * 86400.0]), np.zeros(2, np.int64),
                        np.zeros(2, np.int64), np.zeros(2, np.bool_), last, gap, counts,
                        routine, days, 3.0, 1.5, 4 * 3600.0, 7 * 86400.0)
    assert gap[0] == 6 * 3600.0
