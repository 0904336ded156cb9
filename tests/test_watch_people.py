"""Persons, consent and responders on a real database: personal fields sealed at rest, opened
only for the assigned and admins with an audit row each time, erased on withdrawal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector.store import Store
from collector.watch import crypto
from collector.watch.people import (
    WatchError,
    add_consent,
    add_household,
    add_person,
    add_responder,
    assign,
    has_consent,
    link_device,
    open_person,
    phone,
    withdraw_consent,
)

from .test_collector import T
from .test_sensitivity import ev, tag_summary

NAME, ADDRESS, TEL = "山田 花子", "青梅市本町1-2-3", "090-1234-5678"


@pytest.fixture
def keys(tmp_path: Path) -> crypto.Keyring:
    return crypto.load(tmp_path / "watch.key", str(tmp_path / "x.sqlite"))


def people(st: Store, keys: crypto.Keyring) -> int:
    add_household(st.db, keys, "h1", ADDRESS, T)
    add_person(st.db, keys, "person-001", NAME, T, household="h1", phone_number=TEL)
    link_device(st.db, "tag-001", "tag", T, person="person-001")
    add_consent(st.db, "person-001", "本人", "tag,meter,notify", T)
    rid = add_responder(st.db, keys, "佐藤 民生委員", 2, "minsei", T, username="sato",
                        phone_number="080-0000-1111")
    assign(st.db, "person-001", rid)
    return rid


def dump(st: Store) -> str:
    out = []
    for t in ("watch_persons", "watch_households", "watch_responders", "watch_audit"):
        out += [json.dumps([str(v) for v in r]) for r in st.db.execute(
            f"SELECT * FROM {t}").fetchall()]
    return "\n".join(out)


def test_personal_fields_are_sealed_and_views_are_audited(db_url: str, keys) -> None:
    st = Store(db_url)
    people(st, keys)
    raw = dump(st)
    assert NAME not in raw and ADDRESS not in raw and "9012345678" not in raw
    assert "民生委員" not in raw
    got = open_person(st.db, keys, "person-001", "sato", "responder", T + 1)
    assert got == {"id": "person-001", "household": "h1", "name": NAME,
                   "phone": "+819012345678", "address": ADDRESS}
    assert open_person(st.db, keys, "person-001", "other", "responder", T + 2) is None
    assert open_person(st.db, keys, "person-001", "plan", "planner", T + 3) is None
    assert open_person(st.db, keys, "person-001", "root", "admin", T + 4)["name"] == NAME
    log = [tuple(r) for r in st.db.execute(
        "SELECT actor, action, person FROM watch_audit ORDER BY id").fetchall()]
    assert log == [("sato", "view", "person-001"), ("other", "denied", "person-001"),
                   ("plan", "denied", "person-001"), ("root", "view", "person-001")]
    st.close()


def test_a_value_moved_to_another_row_does_not_open(tmp_path: Path, keys) -> None:
    sealed = keys.seal(NAME, "person:a:name")
    assert keys.open(sealed, "person:a:name") == NAME
    with pytest.raises(crypto.WatchKeyError):
        keys.open(sealed, "person:b:name")


def test_rotation_keeps_old_values_readable(tmp_path: Path) -> None:
    old_line = crypto.new_key_line("k1")
    sealed = crypto.parse(old_line).seal(NAME, "x")
    ring = crypto.parse(crypto.new_key_line("k2") + old_line)  # new key first, old kept
    assert ring.current == "k2" and ring.open(sealed, "x") == NAME
    assert ring.seal(NAME, "x").startswith("k2:")
    with pytest.raises(crypto.WatchKeyError, match="k1"):
        crypto.parse(crypto.new_key_line("k2")).open(sealed, "x")


def test_bad_input_is_refused_with_the_reason(tmp_path: Path, keys) -> None:
    st = Store(str(tmp_path / "b.sqlite"))
    with pytest.raises(WatchError, match="phone"):
        add_person(st.db, keys, "p2", "x", T, phone_number="12345")
    with pytest.raises(WatchError, match="person id"):
        add_person(st.db, keys, "<script>", "x", T)
    with pytest.raises(WatchError, match="tier"):
        add_responder(st.db, keys, "x", 7, "city", T)
    with pytest.raises(WatchError, match="duty"):
        add_responder(st.db, keys, "x", 4, "city", T, duty="weekdays 9-5")
    with pytest.raises(crypto.WatchKeyError, match="line 1"):
        crypto.parse("k1 not-base64!!")
    assert phone("090-1234-5678") == "+819012345678"
    st.close()


def test_withdrawal_erases_the_person_everywhere(db_url: str, keys) -> None:
    st = Store(db_url, sinks=("influx",))
    people(st, keys)
    st.ingest([tag_summary(1), tag_summary(2, end=T + 120), ev(3, "sos"),
               tag_summary(4, device="tag-002")])
    # an old queued payload from before the sensitivity table kept personal kinds out
    st.db.execute("INSERT INTO sink_queue (sink, payload, queued_at) VALUES (?,?,?)",
                  ("influx", json.dumps({"kind": "presence", "device": "tag-001"}), T))
    st.db.execute("INSERT INTO summaries_hourly (device, hour, kind, gw, windows, n, "
                  '"values", last_end) VALUES (?,?,?,?,?,?,?,?)',
                  ("tag-001", T, "presence", "gw-01", 1, 1, "{}", T))
    assert has_consent(st.db, "person-001")
    gone = withdraw_consent(st.db, "person-001", "admin", T + 500)
    assert gone["summaries"] == 2 and gone["summaries_hourly"] == 1
    assert gone["sink_queue"] == 1 and gone["events"] == 1
    assert not has_consent(st.db, "person-001")
    for table, where in (("summaries", "device = 'tag-001'"), ("events", "device = 'tag-001'"),
                         ("summaries_hourly", "device = 'tag-001'"),
                         ("watch_persons", "1=1"), ("watch_links", "1=1"),
                         ("watch_households", "1=1"), ("devices", "id = 'tag-001'")):
        assert st.db.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0] == 0
    # somebody else's data stays; the erasure itself is on record
    assert st.db.execute("SELECT count(*) FROM summaries").fetchone()[0] == 1
    assert st.db.execute("SELECT action FROM watch_audit").fetchone()[0] == "erase"
    st.close()
