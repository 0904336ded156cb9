"""The alert engine as a pure state machine: plain values and the time in, alerts and the
notifications they call for out — no database, no sockets, no sleeping."""

from __future__ import annotations

from collector.watch.engine import (
    Alert,
    Directory,
    Engine,
    EventIn,
    Responder,
    Settings,
    Silence,
)
from collector.watch.people import Duty

# 2026-08-03 (a Monday) 10:00 JST
NOON = 1_785_722_400.0
FAMILY, MINSEI, HOUKATSU, CITY = (Responder(1, 1), Responder(2, 2), Responder(3, 3),
                                  Responder(4, 4))


def directory(**kw) -> Directory:
    base = {"device_person": {"tag-001": "p1", "tag-002": "p2"},
                "device_household": {"meter-001": "h1"},
                "person_household": {"p1": "h1", "p2": "h2"},
                "chains": {"person:p1": (FAMILY, MINSEI, HOUKATSU, CITY),
                        "household:h1": (FAMILY, MINSEI, HOUKATSU, CITY),
                        "person:p2": (MINSEI,), "household:h2": (MINSEI,)},
                "staff": (CITY,), "resident_phones": frozenset({"p1"})}
    base.update(kw)
    return Directory(**base)


def ev(kind: str, device: str = "tag-001", ts: float = NOON, gw: str = "gw-01", n: int = 1,
       **data) -> EventIn:
    return EventIn(f"gw-01:{n}", kind, device, gw, ts, data)


def told(notes) -> list[tuple[str, int | None, str | None]]:
    return [(n.template, n.responder, n.to_resident) for n in notes]


def test_each_kind_opens_one_alert_with_its_severity_and_tells_tier_one() -> None:
    for kind, sev, subject in (("sos", 3, "person:p1"), ("fall", 3, "person:p1"),
                               ("night_wandering", 2, "person:p1"),
                               ("continuous_use", 2, "household:h1"),
                               ("morning_rise_missing", 1, "household:h1")):
        eng = Engine([], [], directory())
        device = "meter-001" if subject.startswith("household") else "tag-001"
        a = eng.event(ev(kind, device), NOON)
        assert a is not None and (a.subject, a.severity, a.state) == (subject, sev, "open")
        assert told(eng.tick(NOON)) == [("alert", 1, None)], kind


def test_a_storm_of_the_same_trouble_is_one_alert() -> None:
    eng = Engine([], [], directory())
    for i in range(50):
        eng.event(ev("sos", n=i + 1, ts=NOON + i), NOON + i)
    notes = eng.tick(NOON + 60)
    assert len(eng.alerts) == 1 and next(iter(eng.alerts.values())).events == 50
    assert told(notes) == [("alert", 1, None)]


def test_unacknowledged_alert_escalates_tier_by_tier_and_stops_when_acknowledged() -> None:
    eng = Engine([], [], directory())
    a = eng.event(ev("sos"), NOON)
    assert told(eng.tick(NOON)) == [("alert", 1, None)]
    assert eng.tick(NOON + 299) == []
    assert told(eng.tick(NOON + 300)) == [("alert", 2, None)]
    assert told(eng.tick(NOON + 900)) == [("alert", 3, None)]
    eng.acknowledge(a, "responder:3", NOON + 950)
    assert eng.tick(NOON + 1800) == []
    # acknowledged but not resolved: the one who took it is reminded after renotify_s
    assert told(eng.tick(NOON + 950 + 3600)) == [("reminder", 3, None)]
    eng.resolve(a, "responder:3", NOON + 5000)
    assert eng.alerts == {} and eng.tick(NOON + 99999) == []


def test_off_duty_tier_is_skipped() -> None:
    office = Responder(2, 2, Duty.parse("mon-fri 09:00-17:00"))
    d = directory(chains={"person:p1": (FAMILY, office, HOUKATSU)})
    eng = Engine([], [], d)
    night = NOON + 10 * 3600  # 20:00
    eng.event(ev("sos"), night)
    assert told(eng.tick(night)) == [("alert", 1, None)]
    assert told(eng.tick(night + 300)) == [("alert", 3, None)]


def test_quiet_hours_hold_lower_severities_but_never_the_highest() -> None:
    night = NOON + 13 * 3600  # 23:00 JST
    eng = Engine([], [], directory())
    eng.event(ev("night_wandering"), night)
    eng.event(ev("fall", n=2), night)
    assert told(eng.tick(night)) == [("alert", 1, None)]  # the fall only
    wander = eng.alerts[("person:p1", "night_wandering")]
    assert wander.muted == "quiet"
    morning = NOON - 3 * 3600 + 86400  # 07:00 next day
    assert ("alert", 1, None) in told(eng.tick(morning))
    assert wander.muted is None and wander.step == 0


def test_household_inactivity_asks_the_resident_first() -> None:
    eng = Engine([], [], directory())
    a = eng.event(ev("no_sign_of_life", "meter-001"), NOON)
    assert a is not None and a.state == "asking"
    assert told(eng.tick(NOON)) == [("ask", None, "p1")]
    assert eng.tick(NOON + 1799) == []
    assert told(eng.tick(NOON + 1800)) == [("alert", 1, None)]
    # a reply before the deadline cancels it
    eng2 = Engine([], [], directory())
    eng2.event(ev("no_sign_of_life", "meter-001"), NOON)
    eng2.tick(NOON)
    assert [x.subject for x in eng2.resident_replied("p1", NOON + 60)] == ["household:h1"]
    assert eng2.tick(NOON + 4000) == [] and eng2.alerts == {}


def test_not_seen_at_one_gateway_but_seen_at_another_is_not_missing() -> None:
    eng = Engine([], [], directory())
    seen = {"tag-001": NOON - 10}.get  # another gateway heard it 10 s before the event
    assert eng.event(ev("tag_not_seen", ts=NOON, last_seen=NOON - 5 * 3600), NOON, seen) is None
    assert eng.event(ev("tag_not_seen", ts=NOON, last_seen=NOON - 5 * 3600), NOON,
                     {"tag-001": NOON - 5 * 3600}.get) is not None


def test_gateway_outage_inhibits_its_tags_not_seen_alerts() -> None:
    eng = Engine([], [], directory())
    eng.gateway("gw-01", False, NOON)
    for i, tag in enumerate(("tag-001", "tag-002")):
        eng.event(ev("tag_not_seen", tag, n=i + 1, last_seen=NOON - 5 * 3600), NOON)
    notes = eng.tick(NOON)
    assert told(notes) == [("alert", 4, None)]  # one gateway alert to city staff
    assert eng.alerts[("gw:gw-01", "gateway_offline")].severity == 1
    assert {a.muted for k, a in eng.alerts.items() if k[1] == "not_seen"} == {"inhibited"}
    # back online: the gateway alert resolves; the tag heard again resolves, the other is told
    eng.gateway("gw-01", True, NOON + 600)
    notes = eng.tick(NOON + 600, {"tag-001": NOON + 500}.get)
    assert ("gw:gw-01", "gateway_offline") not in eng.alerts
    assert told(notes) == [("alert", 2, None)]
    assert set(eng.alerts) == {("person:p2", "not_seen")}


def test_a_silence_holds_then_ends_with_a_notice_before() -> None:
    s = Silence(7, "person:p1", "*", NOON - 3600, NOON + 3 * 86400, "入院中", "admin")
    eng = Engine([], [s], directory())
    eng.event(ev("no_sign_of_life", "meter-001"), NOON)  # household of a silenced person
    eng.event(ev("sos", n=2), NOON)
    assert eng.tick(NOON) == []
    assert {a.muted for a in eng.alerts.values()} == {"silenced"}
    notes = eng.tick(NOON + 2 * 86400)  # a day before the end: the notice to tier 1
    assert [(n.template, n.responder, n.silence.id) for n in notes] == [
        ("silence_ending", 1, 7)]
    assert eng.tick(NOON + 2 * 86400 + 60) == []  # once
    after = NOON + 3 * 86400 + 1
    assert sorted(told(eng.tick(after))) == [("alert", 1, None), ("ask", None, "p1")]


def test_unknown_person_goes_to_city_staff() -> None:
    eng = Engine([], [], directory())
    a = eng.event(ev("sos", "tag-999"), NOON)
    assert a is not None and a.subject == "device:tag-999"
    assert told(eng.tick(NOON)) == [("alert", 4, None)]


def test_state_round_trips_through_plain_fields() -> None:
    eng = Engine([], [], directory())
    a = eng.event(ev("sos"), NOON)
    eng.tick(NOON)
    copy = Alert(**{k: getattr(a, k) for k in ("subject", "cause", "severity", "state",
                                               "opened_at", "updated_at", "last_event_at",
                                               "events", "step", "next_at")}, id=1)
    again = Engine([copy], [], directory())
    assert again.tick(NOON + 10) == []  # nothing re-sent after a restart
    assert told(again.tick(NOON + 300)) == [("alert", 2, None)]


def test_duty_parsing() -> None:
    d = Duty.parse("mon-fri 08:30-17:15; sat 22:00-06:00")
    assert d.on(0, 8 * 60 + 30) and not d.on(0, 17 * 60 + 15) and not d.on(6, 600)
    assert d.on(5, 23 * 60) and d.on(5, 60) and Duty.parse("").on(6, 0)
    assert Settings().utc_offset_h == 9.0


def test_a_resolved_outage_is_not_raised_again_until_the_gateway_is_heard() -> None:
    eng = Engine([], [], directory())
    eng.gateway("gw-01", False, NOON, since=NOON - 200)
    a = eng.alerts[("gw:gw-01", "gateway_offline")]
    eng.resolve(a, "user:admin", NOON + 60, "known: power cut")
    eng.handled_outages["gw-01"] = a.last_event_at  # what the adapter loads on the next turn
    eng.gateway("gw-01", False, NOON + 120, since=NOON - 200)
    assert ("gw:gw-01", "gateway_offline") not in eng.alerts
    eng.gateway("gw-01", False, NOON + 3600, since=NOON + 3000)  # heard again, then lost
    assert ("gw:gw-01", "gateway_offline") in eng.alerts
