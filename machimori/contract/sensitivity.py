"""Sensitivity: one table from every summary and event kind to a class, and from the class who
may see it, how long it is kept and where it may go (docs/security.md, "Personal data").

Every API, page, sink and retention job asks here; none keeps its own list. A kind that is not
in the table is treated as personal: an unknown new kind never leaks by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Sensitivity(StrEnum):
    PUBLIC = "public"  # anyone, signed in or not: heat readings, counts of people
    OPERATIONAL = "operational"  # the people who run the network: faults, gateways, devices
    PERSONAL = "personal"  # about a resident or a household (APPI): the watch


ANONYMOUS = "anonymous"  # the pseudo-role of a request nobody signed


@dataclass(frozen=True)
class ClassRule:
    roles: frozenset[str]  # roles that see data of this class (family: only their own person)
    keep_days: float | None  # raw rows, hourly rows and events older than this are deleted
    to_influx: bool  # may be queued for the InfluxDB sink
    to_ngsi: bool  # may be exported as NGSI-LD entities


_ALL = frozenset({ANONYMOUS, "admin", "planner", "responder", "viewer", "family", "shop",
                  "device"})

CLASSES: dict[Sensitivity, ClassRule] = {
    Sensitivity.PUBLIC: ClassRule(_ALL, None, True, True),
    Sensitivity.OPERATIONAL: ClassRule(frozenset({"admin", "planner", "responder"}), 400.0,
                                       True, False),
    # Family members see personal data only through the watch pages, for their own person.
    Sensitivity.PERSONAL: ClassRule(frozenset({"admin", "responder", "family"}), 90.0,
                                    False, False),
}

# Summary kinds (machimori/summary/1 `kind`; also the `kind` of a device in the registry).
SUMMARY_KINDS: dict[str, Sensitivity] = {
    "heat": Sensitivity.PUBLIC,
    "people": Sensitivity.PUBLIC,  # a count per gateway; addresses never leave the gateway
    "presence": Sensitivity.PERSONAL,  # where a resident's tag was heard
    "meter": Sensitivity.PERSONAL,  # a household's electricity use: when someone is home
}

# Event kinds (machimori/event/1 `kind`, docs/protocol.md).
EVENT_KINDS: dict[str, Sensitivity] = {
    "sos": Sensitivity.PERSONAL,
    "fall": Sensitivity.PERSONAL,
    "no_sign_of_life": Sensitivity.PERSONAL,
    "continuous_use": Sensitivity.PERSONAL,
    "morning_rise_missing": Sensitivity.PERSONAL,
    "tag_not_seen": Sensitivity.PERSONAL,
    "night_wandering": Sensitivity.PERSONAL,
    "wbgt_level": Sensitivity.PUBLIC,
    "sensor_silent": Sensitivity.OPERATIONAL,
    "sensor_fault": Sensitivity.OPERATIONAL,
    "radiation_error": Sensitivity.OPERATIONAL,
    "surface_hot_spot": Sensitivity.OPERATIONAL,
    # From residents' phones (collector/phones.py): where a person is, or that they went silent.
    "phone_enter": Sensitivity.PERSONAL,
    "phone_leave": Sensitivity.PERSONAL,
    "phone_lwt": Sensitivity.PERSONAL,
    "phone_silent": Sensitivity.PERSONAL,
    "phone_back": Sensitivity.PERSONAL,
    # The general detector (gateway/kernels/anomaly.py) scores households' power as well as heat
    # nodes: one kind for both, so the stricter class.
    "anomaly": Sensitivity.PERSONAL,
}


def summary_class(kind: str) -> Sensitivity:
    return SUMMARY_KINDS.get(kind, Sensitivity.PERSONAL)


def event_class(kind: str) -> Sensitivity:
    return EVENT_KINDS.get(kind, Sensitivity.PERSONAL)


def role_sees(role: str | None, cls: Sensitivity) -> bool:
    return (role or ANONYMOUS) in CLASSES[cls].roles


def summary_kinds_for(role: str | None) -> tuple[str, ...]:
    """The summary kinds a role may read through the general API (sorted)."""
    return tuple(sorted(k for k, c in SUMMARY_KINDS.items() if _general(role, c)))


def event_kinds_for(role: str | None) -> tuple[str, ...]:
    """The event kinds a role may read through the general API (sorted)."""
    return tuple(sorted(k for k, c in EVENT_KINDS.items() if _general(role, c)))


def _general(role: str | None, cls: Sensitivity) -> bool:
    # Family members are bound to one person: the general API (all residents) is not theirs.
    if cls is Sensitivity.PERSONAL and role == "family":
        return False
    return role_sees(role, cls)


def may_leave(kind: str, sink: str) -> bool:
    """May a summary of this kind leave the collector to `sink` ("influx" or "ngsi")?"""
    rule = CLASSES[summary_class(kind)]
    if sink == "influx":
        return rule.to_influx
    if sink == "ngsi":
        return rule.to_ngsi
    raise ValueError(f"unknown sink {sink!r}")


def keep_days(cls: Sensitivity) -> float | None:
    return CLASSES[cls].keep_days
