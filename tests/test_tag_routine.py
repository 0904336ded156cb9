"""`tag_not_seen` knows the resident's routine: a work day or day care learnt over two weeks is
expected, an absence beyond what the hour's routine allows still alarms, and nothing is learnt
from an alarm. The gateway's own tag watch (gateway/detect.py) fed the sightings a gateway hears,
window by window, as in the daemon."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway import state
from gateway.config import Device, GatewayConfig
from gateway.detect import TagWatch, WatchSettings
from gateway.kernels import watch
from gateway.pipeline import Pipeline
from machimori.procs import wait_for

JST = 9 * 3600.0
DAY = 86400.0
# Monday 2026-07-20 00:00 JST: the learning starts here, the days judged are from day 14 on.
T0 = 1784473200.0
EVERY_S = 300.0  # the tag is heard every five minutes while it is in the area
WINDOW_S = 600.0


def hour(t: float) -> float:
    return ((t + JST) % DAY) / 3600.0


def day_of(t: float) -> int:
    return int((t - T0) // DAY)


def works(t: float) -> bool:
    """Away 8:00-18:00 every day (the tag unheard), at home otherwise."""
    return not 8.0 <= hour(t) < 18.0


def tag_watch(settings: WatchSettings | None = None) -> TagWatch:
    return TagWatch([Device(id="tag-1", kind="tag", key=bytes(16), person="person-1")],
                    settings or WatchSettings())


def run(tw: TagWatch, start: float, end: float, present: Callable[[float], bool]
        ) -> list[tuple[str, float]]:
    """Close windows from `start` to `end` with the sightings `present` allows; the events."""
    out = []
    t = start
    while t < end:
        ts = np.array([x for x in np.arange(t, t + WINDOW_S, EVERY_S) if present(x)])
        rows = np.zeros(ts.size, dtype=np.int64)
        out += [(e["kind"], e["ts"]) for e in tw.close(t + WINDOW_S, rows, ts)]
        t += WINDOW_S
    return out


def learnt(replay: bool, present: Callable[[float], bool] = works) -> TagWatch:
    """Fourteen days learnt: live, window by window, or in one replay as the demo and the bench
    do before the gateways start (machimori/demo_prelearn.py)."""
    tw = tag_watch()
    if replay:
        tw.started = T0
        ts = np.array([x for x in np.arange(T0, T0 + 14 * DAY, EVERY_S) if present(x)])
        tw.close(T0 + 14 * DAY, np.zeros(ts.size, dtype=np.int64), ts)
        tw.missing_prev[:] = False
    else:
        run(tw, T0, T0 + 14 * DAY, present)
    return tw


@pytest.mark.parametrize("replay", [False, True], ids=["live", "replayed"])
def test_a_work_day_learnt_over_14_days_raises_nothing_at_noon(replay: bool) -> None:
    tw = learnt(replay)
    day15 = T0 + 14 * DAY
    assert run(tw, day15, day15 + 12 * 3600 + 60, works) == []  # left at 8:00, 12:00 now
    assert run(tw, day15 + 12 * 3600 + 60, day15 + 3 * DAY, works) == []  # and days after


@pytest.mark.parametrize("replay", [False, True], ids=["live", "replayed"])
def test_not_back_by_the_hour_the_routine_allows_raises_exactly_one(replay: bool) -> None:
    tw = learnt(replay)
    day15 = T0 + 14 * DAY

    def not_back(t: float) -> bool:
        return t < day15 + 8 * 3600  # left for work at 8:00 and never came home

    events = run(tw, day15, day15 + 2 * DAY, not_back)
    assert [k for k, _ in events] == ["tag_not_seen"]
    # Back by 18:00 is the routine: the hour 18:00-19:00 still allows 1.5 × the 10 h learnt
    # for the hour before; 19:00 allows only the floor. The old longest-gap model waited for
    # 1.5 × 10 h from 8:00: 23:00.
    assert 18.99 <= hour(events[0][1]) <= 19.2 and day_of(events[0][1]) == 14


@pytest.mark.parametrize("replay", [False, True], ids=["live", "replayed"])
def test_gone_in_the_evening_alarms_after_the_floor_not_the_day_long_gap(replay: bool) -> None:
    tw = learnt(replay)
    day15 = T0 + 14 * DAY

    def gone_at_nine(t: float) -> bool:  # home from work at 18:00, gone from 21:00
        return works(t) and not t >= day15 + 21 * 3600

    events = run(tw, day15, day15 + 2 * DAY, gone_at_nine)
    assert [k for k, _ in events] == ["tag_not_seen"]
    # Evening and night allow only the 4 h floor: alarmed at 01:00, not 1.5 × 10 h later.
    assert events[0][1] - (day15 + 21 * 3600 - EVERY_S) <= 4 * 3600 + WINDOW_S + EVERY_S


def test_day_care_twice_a_week_is_expected_and_a_hospital_stay_still_alarms() -> None:
    def day_care(t: float) -> bool:  # Monday and Wednesday 9:00-16:00 (T0 is a Monday)
        return not (day_of(t) % 7 in (0, 2) and 9.0 <= hour(t) < 16.0)

    tw = learnt(False, day_care)
    day15 = T0 + 14 * DAY  # a Monday
    assert run(tw, day15, day15 + 7 * DAY, day_care) == []
    # A hospital stay from a Saturday 10:00, three days (no day care that day).
    sat = day15 + 12 * DAY
    back = sat + 10 * 3600 + 3 * DAY

    def hospital(t: float) -> bool:
        return day_care(t) and not sat + 10 * 3600 <= t < back

    events = run(tw, day15 + 7 * DAY, back + DAY, hospital)
    assert [k for k, _ in events] == ["tag_not_seen"]
    # Day care ends at 16:00: 17:00 is the first hour that allows no such gap.
    assert events[0][1] <= sat + 17 * 3600 + WINDOW_S
    # The stay taught nothing: the next absence (the Monday after, 19:00) alarms after the floor.
    later = back + DAY
    again = run(tw, later, later + DAY,
                lambda t: day_care(t) and not t >= later + 3600.0 * (19.0 - hour(later)))
    assert [k for k, _ in again] == ["tag_not_seen"]
    assert again[0][1] - (later + 3600.0 * (19.0 - hour(later))) <= 4 * 3600 + WINDOW_S


def test_an_alarmed_absence_of_less_than_a_day_is_not_learnt() -> None:
    tw = learnt(False)
    before, longest = tw.routine.copy(), float(tw.max_gap[0])
    day15 = T0 + 14 * DAY
    # Not back from work until 23:00: alarmed at 19:00, and not taught (nor is max_gap).
    events = run(tw, day15, day15 + DAY, lambda t: works(t) and not 18 <= hour(t) < 23)
    assert [k for k, _ in events] == ["tag_not_seen"]
    col = int((day15 + JST) // DAY) % watch.TAG_DAYS
    assert tw.routine[0, 18:23, col].max() == 0.0 and tw.max_gap[0] == longest
    # The same again the next day alarms just as soon.
    events = run(tw, day15 + DAY, day15 + 2 * DAY, lambda t: works(t) and not 18 <= hour(t) < 23)
    assert [k for k, _ in events] == ["tag_not_seen"] and hour(events[0][1]) <= 19.2
    assert np.array_equal(np.delete(tw.routine, [col, (col + 1) % watch.TAG_DAYS], axis=2),
                          np.delete(before, [col, (col + 1) % watch.TAG_DAYS], axis=2))


# ---- the routine on disk

def pipeline() -> Pipeline:
    cfg = GatewayConfig(id="gw-01", data_dir=Path("/nonexistent"), devices=(
        Device(id="tag-1", kind="tag", key=bytes(16), person="person-1"),))
    return Pipeline(cfg, people_secret=b"s" * 32)


def test_a_state_file_from_before_routines_restores_and_the_routine_is_learnt_afresh(
        tmp_path: Path) -> None:
    p = pipeline()
    p.tag_watch = learnt(False)
    doc = state.snapshot(p)
    assert len(doc["tags"]["tag-1"]["routine"]["days"]) == watch.TAG_DAYS
    old = {**doc, "tags": {"tag-1": {k: v for k, v in doc["tags"]["tag-1"].items()
                                     if k != "routine"}}}  # what main wrote until now
    path = tmp_path / state.FILE
    state.save(path, old)
    q = pipeline()
    assert state.load_into(q, path) == "restored"
    tw = q.tag_watch
    assert tw.max_gap[0] == p.tag_watch.max_gap[0] and tw.last_seen[0] == p.tag_watch.last_seen[0]
    assert (tw.routine_day == -1).all()  # nothing of a routine: the longest gap stands in
    day15 = T0 + 14 * DAY
    assert run(tw, day15, day15 + DAY, works) == []  # 1.5 × 10 h allowed, as before
    # A damaged or other-shaped routine is dropped for that tag alone, and counted.
    bad = {**doc, "tags": {"tag-1": {**doc["tags"]["tag-1"],
                                     "routine": {"days": [1, 2], "gaps": [[0.0]]}}}}
    state.save(path, bad)
    r = pipeline()
    assert state.load_into(r, path) == "restored"
    assert r.counters["state_tag_routine_dropped"] == 1
    assert r.tag_watch.max_gap[0] == p.tag_watch.max_gap[0]


def test_the_learnt_routine_round_trips_through_the_state_file(tmp_path: Path) -> None:
    p = pipeline()
    p.tag_watch = learnt(False)
    path = tmp_path / state.FILE
    state.save(path, state.snapshot(p))
    q = pipeline()
    assert state.load_into(q, path) == "restored"
    assert np.array_equal(q.tag_watch.routine_day, p.tag_watch.routine_day)
    assert np.allclose(q.tag_watch.routine, p.tag_watch.routine, atol=0.5)
    q.tag_watch.started = p.tag_watch.started
    day15 = T0 + 14 * DAY
    assert run(q.tag_watch, day15, day15 + 12 * 3600 + 60, works) == []


# ---- a real gateway process, killed with SIGKILL

def test_the_learnt_routine_survives_kill_9_in_a_real_gateway(tmp_path: Path,
                                                              mosquitto: Any) -> None:
    """Two residents last heard at 07:55, the gateway's clock at 12:00: the one who works by
    day (8:00-18:00) is expected away; the one who works nights (20:00-06:00) is missing, which
    only the routine says (their longest gap, 10 h, would allow 15 h at any hour). Judged from
    the routine in state.json, which comes back unchanged after kill -9 (no repeated alarm)."""
    import time

    from gateway import config

    from .test_gateway_state import RadioGateway, Subscriber

    tags = "".join(f'[[device]]\nid = "tag-{i}"\nkind = "tag"\nperson = "person-{i}"\n'
                   f'key = "{bytes([i] * 16).hex()}"\n\n' for i in (1, 2))
    gw = RadioGateway(tmp_path, mosquitto, tags)
    # The gateway's clock: 12:00 JST on the Monday two weeks after T0 (a real day ago or not,
    # only the offset matters), the routine learnt over the 14 days before it.
    noon = T0 + 14 * DAY + 12 * 3600
    p = Pipeline(config.load(gw.config), people_secret=b"s" * 32)
    tw = p.tag_watch
    tw.started = noon - 12 * 3600 - 14 * DAY
    ts = np.arange(tw.started, noon, EVERY_S)
    seen = [(0, t) for t in ts if works(t)] + [(1, t) for t in ts if 6 <= hour(t) < 20]
    seen = [(k, t) for k, t in seen if t < noon - 4 * 3600 - 300]  # both last heard at 07:55
    seen.sort(key=lambda x: x[1])
    tw.close(noon - 60, np.array([k for k, _ in seen]), np.array([t for _, t in seen]))
    tw.missing_prev[:] = False
    learnt_doc = state.snapshot(p)
    gw.data.mkdir(parents=True)
    state.save(gw.data / state.FILE, learnt_doc)
    routine = {d: learnt_doc["tags"][d]["routine"] for d in ("tag-1", "tag-2")}
    sub = Subscriber(mosquitto.port)
    try:
        def windows() -> int:
            return int(gw.stats().get("kernel_timings", {}).get("windows", 0))

        gw.start(clock_offset_s=noon - time.time())
        wait_for(lambda: gw.counter("state_restored") == 1, 30, "the learnt state restored")
        wait_for(lambda: len(sub.events("tag_not_seen")) == 1, 30, "the missing night worker")
        first = windows()
        wait_for(lambda: windows() >= first + 3, 30, "three more windows")
        gone = sub.events("tag_not_seen")
        assert [(e["device"], e["data"]["person"]) for e in gone] == [("tag-2", "person-2")]
        wait_for(lambda: gw.state().get("tags", {}).get("tag-2", {}).get("missing") is True,
                 30, "the alarm in the snapshot")
        assert {d: gw.state()["tags"][d]["routine"] for d in routine} == routine
        gw.kill()
        gw.start(clock_offset_s=noon - time.time())
        wait_for(lambda: gw.counter("state_restored") == 1, 30, "the restart")
        first = windows()
        wait_for(lambda: windows() >= first + 3, 30, "three windows after the restart")
        # Nothing relearnt or forgotten: the day worker is still expected at work, the night
        # worker's alarm is not raised again (it came back with the routine).
        assert [e["device"] for e in sub.events("tag_not_seen")] == ["tag-2"]
        assert {d: gw.state()["tags"][d]["routine"] for d in routine} == routine
    finally:
        gw.stop()
        sub.close()
