"""The alert engine: a pure state machine from events, sightings, gateway states and the time to
alerts and the notifications they call for (docs/watch.md describes the rules).

No database, no clock, no sockets here: the adapter (collector/watch/worker.py) loads the state,
feeds plain values and `now`, and writes back what changed, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .people import Duty

SEVERITY_MAX = 3  # 3 immediate, 2 urgent, 1 notice (the events' priorities)


@dataclass(frozen=True)
class Rule:
    cause: str  # what the alert is about; one alert per subject and cause
    severity: int
    subject: str  # "person" or "household": whom the event is about
    ask_first: bool = False  # ask the resident before the chain (household inactivity)


# Event kind -> rule. Events of other kinds (heat, sensor faults) raise no watch alert.
RULES: dict[str, Rule] = {
    "sos": Rule("sos", 3, "person"),
    "fall": Rule("fall", 3, "person"),
    "no_sign_of_life": Rule("inactivity", 2, "household", ask_first=True),
    "continuous_use": Rule("continuous_use", 2, "household"),
    "morning_rise_missing": Rule("morning_rise_missing", 1, "household"),
    "tag_not_seen": Rule("not_seen", 2, "person"),
    "night_wandering": Rule("night_wandering", 2, "person"),
    # A resident's phone or GPS terminal that stopped reporting (collector/phones.py): silence
    # is not wellbeing. Its data carries the person the phone is linked to.
    "phone_silent": Rule("phone_silent", 2, "person"),
}
GATEWAY_CAUSE = "gateway_offline"
GATEWAY_SEVERITY = 1
CAUSES_JA = {"sos": "SOS（緊急呼び出し）", "fall": "転倒の検知", "inactivity": "生活反応がない状態",
             "continuous_use": "電気の使いっぱなし", "morning_rise_missing": "朝の生活反応がない",
             "not_seen": "しばらく見かけない状態", "night_wandering": "夜間の外出",
             "phone_silent": "携帯端末からの連絡が途絶えた状態",
             GATEWAY_CAUSE: "中継機の停止"}
CAUSES_EN = {"sos": "SOS", "fall": "fall detected", "inactivity": "no sign of life",
             "continuous_use": "electricity left on", "morning_rise_missing":
             "no morning activity", "not_seen": "not seen for a while",
             "night_wandering": "out at night", GATEWAY_CAUSE: "gateway offline"}


@dataclass(frozen=True)
class Step:
    tier: int
    wait_s: float  # before the next step, unless acknowledged


@dataclass(frozen=True)
class Policy:
    steps: tuple[Step, ...]
    renotify_s: float  # acknowledged but not resolved: remind this often
    ask_s: float  # how long the resident has to answer before the chain starts


DEFAULT_POLICIES: dict[int, Policy] = {
    3: Policy((Step(1, 300), Step(2, 600), Step(3, 900), Step(4, 1800)), 3600, 0),
    2: Policy((Step(1, 1800), Step(2, 3600), Step(3, 3600), Step(4, 7200)), 4 * 3600, 1800),
    1: Policy((Step(1, 6 * 3600), Step(2, 12 * 3600)), 24 * 3600, 3600),
}


@dataclass
class Alert:
    subject: str  # person:<id> | household:<id> | gw:<id> | device:<id> (nobody linked)
    cause: str
    severity: int
    state: str  # asking | open | acknowledged | resolved
    opened_at: float
    updated_at: float
    last_event_at: float
    events: int = 1
    step: int = -1  # index of the last escalation step notified
    next_at: float | None = None  # when the engine must look again
    asked_at: float | None = None
    gw: str | None = None
    device: str | None = None
    acked_by: str | None = None
    acked_at: float | None = None
    resolved_at: float | None = None
    note: str | None = None
    muted: str | None = None  # silenced | inhibited | quiet (why nobody is told now)
    id: int | None = None
    dirty: bool = True
    log: list[tuple[float, str, str, str | None]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return self.subject, self.cause

    def record(self, now: float, actor: str, action: str, note: str | None = None) -> None:
        self.log.append((now, actor, action, note))
        self.updated_at = now
        self.dirty = True


@dataclass
class Silence:
    id: int | None
    subject: str
    cause: str  # a cause, or "*" for all
    starts_at: float
    ends_at: float
    reason: str
    created_by: str
    notice_sent: bool = False
    dirty: bool = False

    def matches(self, subjects: set[str], cause: str, now: float) -> bool:
        return (self.starts_at <= now < self.ends_at and self.subject in subjects
                and self.cause in ("*", cause))


@dataclass(frozen=True)
class Responder:
    id: int
    tier: int
    duty: Duty = field(default_factory=Duty)


@dataclass(frozen=True)
class Notify:
    """Tell someone: a responder (by id) or the resident themself (to_resident)."""
    alert: Alert | None
    template: str  # alert | ask | reminder | silence_ending | resolved
    responder: int | None = None
    tier: int | None = None
    to_resident: str | None = None  # person id
    silence: Silence | None = None


@dataclass(frozen=True)
class Directory:
    """Who is whom, as plain data the adapter reads from the database."""
    device_person: Mapping[str, str]  # tag/phone -> person
    device_household: Mapping[str, str]  # meter -> household
    person_household: Mapping[str, str]
    chains: Mapping[str, tuple[Responder, ...]]  # subject -> its responders (any tier)
    staff: tuple[Responder, ...]  # tier-4 responders: gateways and unlinked devices
    resident_phones: frozenset[str]  # persons who can be asked by SMS

    def related(self, subject: str) -> set[str]:
        """The subject and the subjects a silence on them also covers (a person in hospital:
        their household's meter is quiet too)."""
        out = {subject}
        kind, _, ident = subject.partition(":")
        if kind == "person" and ident in self.person_household:
            out.add("household:" + self.person_household[ident])
        if kind == "household":
            out |= {"person:" + p for p, h in self.person_household.items() if h == ident}
        return out

    def responders(self, subject: str) -> tuple[Responder, ...]:
        if subject.startswith(("gw:", "device:")):
            return self.staff
        return self.chains.get(subject, ()) or self.staff


@dataclass(frozen=True)
class Settings:
    utc_offset_h: float = 9.0  # JST: duty hours and quiet hours are local time
    quiet_start_min: int = 22 * 60  # quiet hours: nothing below the highest severity is sent
    quiet_end_min: int = 7 * 60
    not_seen_grace_s: float = 900.0  # a sighting this close to the event's own time counts
    silence_notice_s: float = 86400.0  # tell tier 1 this long before a silence ends


@dataclass(frozen=True)
class EventIn:
    id: str
    kind: str
    device: str
    gw: str
    ts: float
    data: Mapping[str, object]


class Engine:
    def __init__(self, alerts: list[Alert], silences: list[Silence],
                 directory: Directory | Callable[[], Directory],
                 policies: Mapping[int, Policy] | None = None, settings: Settings = Settings()):
        self.alerts = {a.key: a for a in alerts if a.state != "resolved"}
        self.closed: list[Alert] = []  # resolved during this run, to be written back
        self.silences = silences
        # The directory may be given as a loader: a turn with nothing to do never reads it.
        self._dir = directory
        self.policies: dict[int, Policy] = {**DEFAULT_POLICIES, **(policies or {})}
        self.s = settings
        self.out: list[Notify] = []
        # gateway -> the last-heard time of its latest outage alert already resolved
        self.handled_outages: dict[str, float] = {}
        self.suppressed = 0  # events that raised nothing (seen elsewhere, unknown kind)

    @property
    def dir(self) -> Directory:
        if not isinstance(self._dir, Directory):
            self._dir = self._dir()
        return self._dir

    # ---- time
    def _local(self, now: float) -> tuple[int, int]:
        t = now + self.s.utc_offset_h * 3600
        days = int(t // 86400)
        return (days + 3) % 7, int(t % 86400) // 60  # 1970-01-01 was a Thursday (3)

    def quiet(self, now: float) -> bool:
        _, m = self._local(now)
        a, b = self.s.quiet_start_min, self.s.quiet_end_min
        return (a <= m or m < b) if a > b else a <= m < b

    def _quiet_ends(self, now: float) -> float:
        _, m = self._local(now)
        wait = (self.s.quiet_end_min - m) % 1440
        return (now // 60) * 60 + wait * 60

    # ---- inputs
    def subject_of(self, ev: EventIn, rule: Rule) -> str:
        person = self.dir.device_person.get(ev.device)
        if person is None and isinstance(ev.data.get("person"), str):
            p = str(ev.data["person"])
            person = p if ("person:" + p) in self.dir.chains else None
        if rule.subject == "person":
            return f"person:{person}" if person else f"device:{ev.device}"
        household = self.dir.device_household.get(ev.device)
        if household is None and isinstance(ev.data.get("household"), str):
            h = str(ev.data["household"])
            household = h if ("household:" + h) in self.dir.chains else None
        if household is None and person is not None:
            household = self.dir.person_household.get(person)
        return f"household:{household}" if household else f"device:{ev.device}"

    def event(self, ev: EventIn, now: float,
              last_seen: Callable[[str], float | None] = lambda d: None) -> Alert | None:
        """An event arrived; returns the alert it opened or joined (None: nothing to raise)."""
        rule = RULES.get(ev.kind)
        if rule is None:
            self.suppressed += 1
            return None
        if rule.cause == "not_seen":
            # One gateway's view is not the town's: seen at any gateway since, not missing.
            since = ev.data.get("last_seen")
            ref = float(since) if isinstance(since, int | float) else ev.ts - 3600
            seen = last_seen(ev.device)
            if seen is not None and seen > ref + 1 and seen >= ev.ts - self.s.not_seen_grace_s:
                self.suppressed += 1
                return None
        subject = self.subject_of(ev, rule)
        a = self.alerts.get((subject, rule.cause))
        if a is not None:  # grouping: the same trouble again is the same alert
            a.events += 1
            a.last_event_at = max(a.last_event_at, ev.ts)
            a.gw, a.device = ev.gw, ev.device
            a.updated_at = now
            a.dirty = True
            return a
        ask = rule.ask_first and self._resident_for(subject) is not None
        a = Alert(subject, rule.cause, rule.severity, "asking" if ask else "open", now, now,
                  ev.ts, gw=ev.gw, device=ev.device)
        a.record(now, "system", "opened", f"{ev.kind} {ev.id}")
        self.alerts[a.key] = a
        self._evaluate(a, now)
        return a

    def _resident_for(self, subject: str) -> str | None:
        kind, _, ident = subject.partition(":")
        if kind == "person":
            return ident if ident in self.dir.resident_phones else None
        if kind == "household":
            for p, h in sorted(self.dir.person_household.items()):
                if h == ident and p in self.dir.resident_phones:
                    return p
        return None

    def gateway(self, gw: str, online: bool, now: float, since: float | None = None) -> None:
        """A gateway's state; `since`: when it was last heard (its status). An outage someone
        already resolved by hand is not raised again until the gateway has been heard since."""
        key = (f"gw:{gw}", GATEWAY_CAUSE)
        a = self.alerts.get(key)
        since = now if since is None else since
        if not online and a is None:
            if self.handled_outages.get(gw, float("-inf")) >= since:
                return
            a = Alert(key[0], GATEWAY_CAUSE, GATEWAY_SEVERITY, "open", now, now, since, gw=gw)
            a.record(now, "system", "opened", "gateway offline")
            self.alerts[key] = a
        elif online and a is not None:
            self._resolve(a, now, "system", "中継機が復旧しました")

    # ---- actions by people
    def acknowledge(self, a: Alert, who: str, now: float, note: str | None = None) -> None:
        if a.state in ("resolved", "acknowledged"):
            return
        pol = self.policies[a.severity]
        a.state, a.acked_by, a.acked_at = "acknowledged", who, now
        a.next_at = now + pol.renotify_s
        a.record(now, who, "acknowledged", note)

    def resolve(self, a: Alert, who: str, now: float, note: str | None = None) -> None:
        self._resolve(a, now, who, note)

    def escalate(self, a: Alert, who: str, now: float, note: str | None = None) -> None:
        """Tell the next tier now (by hand: the first responder cannot go)."""
        if a.state == "resolved":
            return
        a.state, a.next_at = "open", now
        a.record(now, who, "escalated", note)
        self._notify_next(a, now, force=True)

    def resident_replied(self, person: str, now: float) -> list[Alert]:
        """The resident answered the question: their asking alerts are resolved."""
        done = []
        for a in list(self.alerts.values()):
            if a.state == "asking" and self._resident_for(a.subject) == person:
                self._resolve(a, now, "resident", "本人から返信がありました")
                done.append(a)
        return done

    def _resolve(self, a: Alert, now: float, who: str, note: str | None) -> None:
        if a.state == "resolved":
            return
        a.state, a.resolved_at, a.next_at, a.note = "resolved", now, None, note or a.note
        a.record(now, who, "resolved", note)
        self.alerts.pop(a.key, None)
        self.closed.append(a)

    # ---- the clock
    def tick(self, now: float, last_seen: Callable[[str], float | None] = lambda d: None
             ) -> list[Notify]:
        for a in sorted(self.alerts.values(), key=lambda x: (-x.severity, x.opened_at)):
            if a.cause == "not_seen" and a.device:
                seen = last_seen(a.device)
                if seen is not None and seen > a.last_event_at + 1:
                    self._resolve(a, now, "system", "再び確認されました")
                    continue
            self._evaluate(a, now)
        for s in self.silences:
            if (not s.notice_sent and s.starts_at <= now < s.ends_at
                    and now >= s.ends_at - min(self.s.silence_notice_s,
                                               (s.ends_at - s.starts_at) / 2)):
                s.notice_sent, s.dirty = True, True
                for r in self._on_duty(s.subject, 1, now) or self._first_tier(s.subject, now):
                    self.out.append(Notify(None, "silence_ending", r.id, r.tier, silence=s))
        out, self.out = self.out, []
        return out

    def _muted(self, a: Alert, now: float) -> str | None:
        subjects = self.dir.related(a.subject)
        if any(s.matches(subjects, a.cause, now) for s in self.silences):
            return "silenced"
        if a.cause == "not_seen" and a.gw and (f"gw:{a.gw}", GATEWAY_CAUSE) in self.alerts:
            return "inhibited"  # its gateway is down: the gateway's alert says it all
        return None

    def _evaluate(self, a: Alert, now: float) -> None:
        muted = self._muted(a, now)
        if muted is None and a.severity < SEVERITY_MAX and self.quiet(now):
            muted = "quiet"
        if muted != a.muted:
            a.muted = muted
            a.record(now, "system", "muted" if muted else "unmuted", muted)
        if muted is not None:
            return
        pol = self.policies[a.severity]
        if a.state == "asking":
            person = self._resident_for(a.subject)
            if a.asked_at is None and person is not None:
                a.asked_at, a.next_at = now, now + pol.ask_s
                a.record(now, "system", "asked resident")
                self.out.append(Notify(a, "ask", to_resident=person))
                return
            if a.next_at is not None and now < a.next_at:
                return
            a.state, a.next_at = "open", now
            a.record(now, "system", "no reply from resident")
        if a.state == "open" and (a.next_at is None or now >= a.next_at):
            self._notify_next(a, now)
        elif a.state == "acknowledged" and a.next_at is not None and now >= a.next_at:
            a.next_at = now + pol.renotify_s
            a.record(now, "system", "reminded")
            for r in self.dir.responders(a.subject):
                if a.acked_by is not None and str(r.id) == a.acked_by.removeprefix("responder:"):
                    self.out.append(Notify(a, "reminder", r.id, r.tier))
                    return
            for r in self._on_duty(a.subject, self._tier_at(a, max(a.step, 0)), now):
                self.out.append(Notify(a, "reminder", r.id, r.tier))

    def _tier_at(self, a: Alert, step: int) -> int:
        steps = self.policies[a.severity].steps
        return steps[min(step, len(steps) - 1)].tier

    def _notify_next(self, a: Alert, now: float, force: bool = False) -> None:
        """The next step of the chain with someone on duty; past the last step, the last again."""
        steps = self.policies[a.severity].steps
        step = a.step
        while True:
            step += 1
            st = steps[min(step, len(steps) - 1)]
            who = self._on_duty(a.subject, st.tier, now)
            if who or step >= len(steps) - 1:
                break
        if not who:
            who = self._first_tier(a.subject, now)  # nobody on duty anywhere: the nearest
        a.step, a.next_at = step, now + st.wait_s
        a.record(now, "system", "notified", f"tier {st.tier}: {len(who)}")
        for r in who:
            self.out.append(Notify(a, "alert", r.id, r.tier))

    def _on_duty(self, subject: str, tier: int, now: float) -> list[Responder]:
        wd, m = self._local(now)
        return [r for r in self.dir.responders(subject) if r.tier == tier and r.duty.on(wd, m)]

    def _first_tier(self, subject: str, now: float) -> list[Responder]:
        rs = self.dir.responders(subject)
        if not rs:
            return []
        wd, m = self._local(now)
        on = [r for r in rs if r.duty.on(wd, m)]
        pool = on or list(rs)
        low = min(r.tier for r in pool)
        return [r for r in pool if r.tier == low]
