"""The demo's watch: every simulated resident is a person under watch with consent, a family
member (tier 1) and the area's 民生委員, 地域包括支援センター and city staff (tiers 2–4), with
made-up phone numbers; a 民生委員 and one family member get accounts for the responders' app.

The collector's clock is the wall clock, the town's is `--speed` times faster: the demo's
escalation policies are the defaults (collector/watch/engine.py) divided by the speed, so the
resident who is asked first (household inactivity) has 30 simulated minutes to answer — one
real minute at ×30 — before the chain starts, as in the field."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

FAMILY_USER = "family-003"  # person-003 presses SOS early in every demo town


def set_policies(db: Any, speed: float) -> None:
    """Every severity's default chain, its waits in simulated time (divided by `speed`)."""
    from collector.watch.engine import DEFAULT_POLICIES, Policy, Step
    from collector.watch.state import save_policy

    db.begin()
    try:
        for sev, pol in sorted(DEFAULT_POLICIES.items()):
            save_policy(db, sev, Policy(tuple(Step(s.tier, s.wait_s / speed) for s in pol.steps),
                                        pol.renotify_s / speed, pol.ask_s / speed))
        db.commit()
    except BaseException:
        db.rollback()
        raise


def setup(db_path: Path, data: Path, town: Any, speed: float = 1.0) -> dict[str, str]:
    """Create the watch's people once (the policies at every start, for this `speed`);
    returns {user: password} for the app accounts."""
    from collector.store import connect, migrate
    from collector.users import add_user
    from collector.watch import crypto
    from collector.watch.people import (
        add_consent,
        add_household,
        add_person,
        add_responder,
        assign,
        link_device,
    )

    from .files import write_private

    creds_file = data / "watch-accounts.txt"
    db = connect(db_path)
    try:
        migrate(db)
        set_policies(db, speed)
        if db.execute("SELECT 1 FROM watch_persons LIMIT 1").fetchone():
            return dict(ln.split(" ", 1) for ln in creds_file.read_text().splitlines()
                        if " " in ln) if creds_file.exists() else {}
        keys = crypto.load(None, str(db_path))
        now = 0.0
        for i, h in enumerate(town.households):
            add_household(db, keys, h.id, f"デモ市本町{i + 1}-{(i * 7) % 20 + 1}", now)
            link_device(db, h.id, "meter", now, household=h.id)
        staff = [add_responder(db, keys, name, tier, org, now, phone_number=tel, username=user)
                 for name, tier, org, tel, user in (
                     ("民生委員 佐藤", 2, "minsei", "+819000000002", "minsei"),
                     ("地域包括支援センター", 3, "houkatsu", "+819000000003", None),
                     ("市役所 見守り係", 4, "city", "+819000000004", None))]
        for n, r in enumerate(town.residents, 1):
            add_person(db, keys, r.person, f"住民 {n:02d}", now, household=r.household,
                       phone_number=f"+8170{n:08d}")
            add_consent(db, r.person, "本人", "tag,meter,notify", now)
            link_device(db, r.id, "tag", now, person=r.person)
            fam = add_responder(db, keys, f"家族 {n:02d}", 1, "family", now,
                                phone_number=f"+8180{n:08d}",
                                username=FAMILY_USER if r.person == "person-003" else None)
            for rid in (fam, *staff):
                assign(db, r.person, rid)
        creds = {"minsei": secrets.token_urlsafe(9), FAMILY_USER: secrets.token_urlsafe(9)}
        add_user(db, "minsei", creds["minsei"], "responder")
        add_user(db, FAMILY_USER, creds[FAMILY_USER], "family")
        write_private(creds_file, "".join(f"{u} {p}\n" for u, p in creds.items()))
        return creds
    finally:
        db.close()
