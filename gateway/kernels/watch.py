"""Household watch kernels: smart-meter signs of life and BLE-tag presence.

Meter: a per-household profile of energy use by hour of week (EWMA per slot) and the longest
flat and longest continuous-high runs seen so far; alarms are
  NO_LIFE      no activity for longer than this household ever goes without (× margin, never
               less than a floor), or the usual morning rise missing;
  CONTINUOUS   high use without a break for longer than ever seen (× margin): a stove left on.
Activity is judged on energy per span (ACTIVITY_SPAN_S, lengthened for a coarse meter), never
on single readings: the mean power of a span must differ from the previous span's by more than
`activity_w`. A span is long enough that the meter's own resolution (`quantum_wh`: one pulse,
1000 / pulses_per_kWh Wh) moves its mean by at most half of `activity_w`, and long enough that
a refrigerator's compressor cycling averages out (docs/kernels.md has the numbers).
Tags: a tag unseen for longer than its routine allows at this hour of the day (× margin, never
less than a floor), or seen at night by a gateway where it is rarely seen (wandering risk). SOS
and fall events bypass all this.

Nothing is learnt from an alarm: a gap that was itself long enough to raise `tag_not_seen` (a
hospital stay) never widens the tag's threshold, an hour in which a household alarm was raised
never enters its profile, and a flat run longer than `flat_learn_cap_s` is never learnt even
while learning, so one absence cannot teach the watch to ignore the next.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NO_LIFE, MORNING_MISSING, CONTINUOUS = 1, 2, 4
HOURS_PER_WEEK = 168
# meter state: mean power of the last judged span, time of last activity, start of high run,
# longest flat, longest high, learning ends at, current hour slot, energy this hour, last time,
# alarm raised this hour, current span (index), energy in it (Wh), seconds of it covered
M_SPAN_W, M_ACTIVE_AT, M_HIGH_SINCE, M_MAX_FLAT, M_MAX_HIGH, M_LEARN_UNTIL, M_HOUR, M_HOUR_WH, \
    M_T, M_HOUR_ALARM, M_SPAN, M_SPAN_WH, M_SPAN_COVER = range(13)
# Layout 2 (13 values). Layout 1 (10 values, before session 16) judged activity reading by
# reading; a snapshot in that layout is not migrated (its learnt flat runs mean something else):
# gateway/state.py drops it and the household is learnt afresh.
METER_STATE_SIZE = 13
# Activity is judged on the mean power of one-hour spans: a pulse (1 Wh at 1000 imp/kWh) moves
# an hour's mean by 1 W, and a refrigerator's on/off cycle (20–60 min) mostly averages out.
ACTIVITY_SPAN_S = 3600.0
# Nobody's home shows no change in power for a whole day: a longer flat run seen while learning
# is an absence, not a habit. Likewise a tag unheard for more than a day while its habits are
# learnt was away (a hospital stay, a trip), which the watch must not take as normal.
FLAT_LEARN_CAP_S = 86400.0
GAP_LEARN_CAP_S = 86400.0


def new_meter_state(t0: float, learn_days: float = 14.0) -> tuple[np.ndarray, np.ndarray]:
    """(scalar state, profile[168, 2] = EWMA Wh per hour-of-week slot, samples) for one household."""
    st = np.zeros(METER_STATE_SIZE)
    st[M_SPAN_W] = np.nan
    st[M_ACTIVE_AT] = t0
    st[M_HIGH_SINCE] = np.nan
    st[M_LEARN_UNTIL] = t0 + learn_days * 86400.0
    st[M_HOUR] = -1.0
    st[M_T] = t0
    st[M_SPAN] = -1.0
    return st, np.zeros((HOURS_PER_WEEK, 2))


@njit(cache=True)
def judging_span(span_s: float, quantum_wh: float, activity_w: float) -> float:
    """Seconds of energy behind each activity judgement: at least `span_s`, and long enough that
    one quantum of the meter (quantum_wh) moves the span's mean power by at most activity_w / 2.
    Under a steady load two spans' counts differ by at most one quantum, so the meter's own
    resolution never looks like someone switching something on."""
    if quantum_wh <= 0.0 or activity_w <= 0.0:
        return span_s
    return max(span_s, 2.0 * quantum_wh * 3600.0 / activity_w)


@njit(cache=True)
def hour_of_week(t_local: float) -> int:
    """0 = Monday 00:00–01:00 local time (the Unix epoch was a Thursday)."""
    return int(((t_local / 3600.0) + 72.0) % HOURS_PER_WEEK)


@njit(cache=True)
def meter_watch(t: np.ndarray, power_w: np.ndarray, activity_w: float, high_w: float,
                margin: float, flat_floor_s: float, rise_min_wh: float, rise_frac: float,
                st: np.ndarray, profile: np.ndarray, high_floor_s: float = 600.0,
                span_s: float = ACTIVITY_SPAN_S, quantum_wh: float = 0.0) -> np.ndarray:
    """Flags per reading (local times t in s, power in W) for one household.

    A reading is the mean power since the previous one (a pulse meter's window) or an
    instantaneous value (Route-B E7); either way it stands for power × the time since the
    previous reading. Activity: a span (judging_span(span_s, quantum_wh, activity_w), aligned
    to local time) whose mean power differs from the previous judged span's by more than
    `activity_w`; the activity is dated at the span's start (where the two meet). A span less
    than half covered by readings (an outage) is not judged. A flat run is counted up to the
    start of the span still open.

    During learning only the profile and the longest runs are learnt; afterwards a run longer than
    margin × the longest seen (flat at least `flat_floor_s`) is an alarm, and an hour whose profile
    says ≥ `rise_min_wh` but which used under `rise_frac` of that raises MORNING_MISSING (between
    05:00 and 11:00, when people get up). CONTINUOUS needs a high run longer than margin × the
    longest seen, and at least `high_floor_s`. An hour with an alarm does not update the profile.
    """
    out = np.zeros(t.shape[0], dtype=np.int64)
    span = judging_span(span_s, quantum_wh, activity_w)
    for i in range(t.shape[0]):
        ti = t[i]
        p = power_w[i]
        learning = ti < st[M_LEARN_UNTIL]
        dt = max(0.0, ti - st[M_T])
        st[M_T] = ti
        if math.isnan(p):  # dropout: no evidence either way
            continue
        # hour-of-week profile: close the previous hour when a new one starts
        h = hour_of_week(ti)
        if h != st[M_HOUR]:
            ph = int(st[M_HOUR])
            if ph >= 0:
                used = st[M_HOUR_WH]
                expect = profile[ph, 0]
                hod = ph % 24
                missing = (not learning and profile[ph, 1] >= 2 and expect >= rise_min_wh
                           and used < rise_frac * expect and 5 <= hod < 11)
                if missing:
                    out[i] |= MORNING_MISSING
                elif st[M_HOUR_ALARM] == 0.0:  # an hour with an alarm teaches nothing
                    n = profile[ph, 1]
                    a = 1.0 / (n + 1.0) if n < 4 else 0.2
                    profile[ph, 0] += a * (used - expect)
                    profile[ph, 1] = n + 1.0
            st[M_HOUR] = h
            st[M_HOUR_WH] = 0.0
            st[M_HOUR_ALARM] = 0.0
        st[M_HOUR_WH] += p * dt / 3600.0
        # activity: this reading's energy belongs to the span (k·span, (k+1)·span]
        k = math.ceil(ti / span) - 1.0
        if k != st[M_SPAN]:
            if st[M_SPAN] >= 0.0 and st[M_SPAN_COVER] >= 0.5 * span:
                mean = st[M_SPAN_WH] * 3600.0 / st[M_SPAN_COVER]
                prev = st[M_SPAN_W]
                if math.isnan(prev) or abs(mean - prev) > activity_w:
                    # dated where the two spans meet: within one span of the real change
                    at = st[M_SPAN] * span
                    if at > st[M_ACTIVE_AT]:
                        flat = at - st[M_ACTIVE_AT]
                        if learning and st[M_MAX_FLAT] < flat <= FLAT_LEARN_CAP_S:
                            st[M_MAX_FLAT] = flat
                        st[M_ACTIVE_AT] = at
                st[M_SPAN_W] = mean
            st[M_SPAN] = k
            st[M_SPAN_WH] = 0.0
            st[M_SPAN_COVER] = 0.0
        w = min(dt, span)
        st[M_SPAN_WH] += p * w / 3600.0
        st[M_SPAN_COVER] += w
        # Only judged time counts: up to the start of the span still open (its energy may yet
        # show activity), so no alarm is raised on evidence not weighed yet.
        flat = max(0.0, k * span - st[M_ACTIVE_AT])
        if learning:
            if flat <= FLAT_LEARN_CAP_S:
                st[M_MAX_FLAT] = max(st[M_MAX_FLAT], flat)
        elif flat > max(margin * st[M_MAX_FLAT], flat_floor_s):
            out[i] |= NO_LIFE
        if p >= high_w:
            if math.isnan(st[M_HIGH_SINCE]):
                st[M_HIGH_SINCE] = ti
            run = ti - st[M_HIGH_SINCE]
            if learning:
                st[M_MAX_HIGH] = max(st[M_MAX_HIGH], run)
            elif run > max(margin * st[M_MAX_HIGH], high_floor_s):
                out[i] |= CONTINUOUS
        else:
            st[M_HIGH_SINCE] = np.nan
        if out[i] & (NO_LIFE | CONTINUOUS):
            st[M_HOUR_ALARM] = 1.0
    return out


# Tag routine: for each hour of the (local) day, how long the tag had already been unheard at the
# latest moment of that hour, one value per day in a ring of TAG_DAYS days (routine[tag, hour,
# day % TAG_DAYS]; routine_day[tag, pos] is the local day number the column holds, -1 empty). A
# work day 8:00-18:30 writes 1 h into hour 8, 2 h into hour 9 ... 10.5 h into hour 18. What is
# allowed at an hour is the second largest of those days' values for that hour and the
# one before (a routine is what happened on at least two days of the last TAG_DAYS, so one odd day
# teaches nothing), × margin, never less than the floor. Until TAG_READY_DAYS days are held, the
# tag's longest gap at any hour (max_gap) stands in.
TAG_DAYS = 14
TAG_HOURS = 24
TAG_READY_DAYS = 7


def new_tag_routine(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(routine[n, 24, TAG_DAYS] seconds, routine_day[n, TAG_DAYS] local day numbers) for n tags."""
    return np.zeros((n, TAG_HOURS, TAG_DAYS)), np.full((n, TAG_DAYS), -1.0)


@njit(cache=True)
def _day_column(routine: np.ndarray, routine_day: np.ndarray, k: int, day: float) -> int:
    """The ring column of local day `day` for tag k, cleared if it held an older day; -1 when it
    holds a newer one (a sighting from before a backward clock step teaches nothing)."""
    pos = int(day) % TAG_DAYS
    held = routine_day[k, pos]
    if held == day:
        return pos
    if held > day:
        return -1
    routine[k, :, pos] = 0.0
    routine_day[k, pos] = day
    return pos


@njit(cache=True)
def _second_largest(routine: np.ndarray, routine_day: np.ndarray, k: int, h: int,
                    today: float) -> float:
    """Tag k's second largest unheard time at hour h over the days held of the last TAG_DAYS."""
    a = 0.0  # largest
    b = 0.0  # second largest
    for p in range(TAG_DAYS):
        d = routine_day[k, p]
        if today - TAG_DAYS < d <= today:
            v = routine[k, h, p]
            if v > a:
                a, b = v, a
            elif v > b:
                b = v
    return b


@njit(cache=True)
def tag_allowed(k: int, t_local: float, max_gap: np.ndarray, routine: np.ndarray,
                routine_day: np.ndarray, margin: float, floor_s: float) -> float:
    """How long tag k may be unheard at local time t_local before it is missing (seconds)."""
    today = math.floor(t_local / 86400.0)
    held = 0
    for p in range(TAG_DAYS):
        if today - TAG_DAYS < routine_day[k, p] <= today:
            held += 1
    if held < TAG_READY_DAYS:
        base = max_gap[k]
    else:
        h = int((t_local - today * 86400.0) // 3600.0)
        base = max(_second_largest(routine, routine_day, k, h, today),
                   _second_largest(routine, routine_day, k, (h + TAG_HOURS - 1) % TAG_HOURS,
                                   today))
    return max(margin * base, floor_s)


@njit(cache=True)
def _hour_end(cur: float, e: float, tz_offset_s: float) -> float:
    """The end of the local hour that time `cur` is in, or `e` if that comes first: a gap is
    judged and learnt hour by hour."""
    return min((math.floor((cur + tz_offset_s) / 3600.0) + 1.0) * 3600.0 - tz_offset_s, e)


@njit(cache=True)
def _gap_alarmed(k: int, s: float, e: float, tz_offset_s: float, max_gap: np.ndarray,
                 routine: np.ndarray, routine_day: np.ndarray, margin: float,
                 floor_s: float) -> bool:
    """Whether the gap (s, e) was, at some hour, longer than that hour allowed."""
    if e - s <= floor_s:
        return False  # never more than any hour allows
    cur = s
    while cur < e:
        loc = cur + tz_offset_s
        seg_end = _hour_end(cur, e, tz_offset_s)
        if seg_end - s > tag_allowed(k, loc, max_gap, routine, routine_day, margin, floor_s):
            return True
        cur = seg_end
    return False


@njit(cache=True)
def _learn_gap(k: int, s: float, e: float, tz_offset_s: float, routine: np.ndarray,
               routine_day: np.ndarray) -> None:
    """Write the gap (s, e) into the routine: per hour it covers, how long unheard by its end."""
    cur = s
    while cur < e:
        loc = cur + tz_offset_s
        seg_end = _hour_end(cur, e, tz_offset_s)
        day = math.floor(loc / 86400.0)
        pos = _day_column(routine, routine_day, k, day)
        if pos >= 0:
            h = int((loc - day * 86400.0) // 3600.0)
            routine[k, h, pos] = max(routine[k, h, pos], seg_end - s)
        cur = seg_end


@njit(cache=True)
def tag_sightings(t: np.ndarray, tag: np.ndarray, gateway: np.ndarray, night: np.ndarray,
                  last_seen: np.ndarray, max_gap: np.ndarray, counts: np.ndarray,
                  routine: np.ndarray, routine_day: np.ndarray, min_count: float,
                  margin: float = 1.5, floor_s: float = 14400.0, learn_until: float = -np.inf,
                  tz_offset_s: float = 0.0) -> np.ndarray:
    """Learn from sightings (time, tag index, gateway index, is-night) and flag wandering.

    The gap since the tag's previous sighting is learnt (into its routine and its longest gap)
    unless it was itself an alarm: longer, at some hour it covered, than that hour allowed
    (`tag_allowed`). Sightings before `learn_until` learn any gap (learning: nothing is judged
    yet). A gap of more than GAP_LEARN_CAP_S (a day) is never learnt. A night sighting at a
    gateway that has seen this tag fewer than `min_count` times before is flagged (True);
    counts[tag, gateway] then grows, so a new home area is learnt.
    """
    out = np.zeros(t.shape[0], dtype=np.bool_)
    for i in range(t.shape[0]):
        k = tag[i]
        g = gateway[i]
        ti = t[i]
        s = last_seen[k]
        if not math.isnan(s) and ti > s:
            gap = ti - s
            if gap <= GAP_LEARN_CAP_S and (ti < learn_until or not _gap_alarmed(
                    k, s, ti, tz_offset_s, max_gap, routine, routine_day, margin, floor_s)):
                max_gap[k] = max(max_gap[k], gap)
                _learn_gap(k, s, ti, tz_offset_s, routine, routine_day)
        loc = ti + tz_offset_s
        _day_column(routine, routine_day, k, math.floor(loc / 86400.0))  # a day heard
        last_seen[k] = ti if math.isnan(s) else max(ti, s)
        if night[i] and counts[k, g] < min_count:
            out[i] = True
        counts[k, g] += 1.0
    return out


@njit(cache=True)
def tags_not_seen(now: float, last_seen: np.ndarray, max_gap: np.ndarray, routine: np.ndarray,
                  routine_day: np.ndarray, margin: float, floor_s: float,
                  tz_offset_s: float = 0.0) -> np.ndarray:
    """Tags unheard for longer than their routine allows at this hour (`tag_allowed`)."""
    out = np.zeros(last_seen.shape[0], dtype=np.bool_)
    for k in range(last_seen.shape[0]):
        if not math.isnan(last_seen[k]):
            out[k] = now - last_seen[k] > tag_allowed(k, now + tz_offset_s, max_gap, routine,
                                                      routine_day, margin, floor_s)
    return out
