"""Stream identity: the epoch made with the outbox, v2 ids, v1 still accepted, id conflicts kept.

A gateway whose data dir is lost starts a new outbox, hence a new epoch: its ids never collide
with its past. The collector stores each id once; the same id with a different payload is a
dead letter with its reason, not a silent duplicate.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from collector.store import Store
from gateway.outbox import Outbox
from machimori.contract import mqtt as c

T = 1_785_715_200.0
EPOCH = "0123456789abcdef"


def body(seq: int, epoch: str | None = EPOCH, gw: str = "gw-01", air: float = 31.0,
         kind: str = "summary") -> dict:
    stat = {"mean": air, "min": air, "max": air, "last": air}
    if kind == "event":
        fields = {"kind": "sos", "device": "tag-001", "ts": T, "priority": 3,
                  "data": {"person": "p-1"}}
    else:
        fields = {"kind": "heat", "device": "heat-001", "start": T, "end": T + 60, "n": 6,
                  "values": {"air_c": stat}}
    if epoch is None:  # a gateway not yet upgraded
        return {"schema": f"machimori/{kind}/1", "id": f"{gw}:{seq}", "gw": gw, "seq": seq,
                **fields}
    return c.message_body(kind, gw, epoch, seq, fields)


def msg(b: dict) -> tuple[str, bytes]:
    topic = (c.summary_topic if b["schema"].split("/")[1] == "summary" else c.event_topic)(
        b["gw"], b["kind"])
    return topic, json.dumps(b).encode()


def test_v2_ids_carry_the_epoch_and_v1_is_still_accepted() -> None:
    b = body(42)
    assert b["id"] == "gw-01:0123456789abcdef:42" and b["schema"] == "machimori/summary/2"
    info, got = c.decode_message(*msg(b))
    assert got["epoch"] == EPOCH and info.message == "summary"
    _, old = c.decode_message(*msg(body(42, epoch=None)))
    assert old["id"] == "gw-01:42"
    assert {m: c.SCHEMA_IDS[m] for m in ("summary", "event", "status")} == {
        "summary": "machimori/summary/2", "event": "machimori/event/2",
        "status": "machimori/status/2"}
    assert c.SCHEMA_IDS["command"] == "machimori/command/1"  # actuator messages: one version


@pytest.mark.parametrize("change, why", [
    ({"id": "gw-01:42"}, "summary: id: "),  # a v1 id in a v2 payload
    ({"id": "gw-01:0123456789abcdef:41"}, "id must be '<gw>:<epoch>:<seq>'"),
    ({"epoch": "0123456789ABCDEF"}, "summary: epoch: "),
    ({"epoch": "fedcba9876543210"}, "id must be '<gw>:<epoch>:<seq>'"),
    ({"schema": "machimori/summary/3"}, "is not one of machimori/summary/1, machimori/summary/2"),
])
def test_bad_v2_ids_name_the_problem(change: dict, why: str) -> None:
    with pytest.raises(c.ContractError) as err:
        c.decode_message(*msg({**body(42), **change}))
    assert why in str(err.value)


def test_v1_payload_may_not_carry_an_epoch() -> None:
    with pytest.raises(c.ContractError, match="'epoch' was unexpected"):
        c.validate("summary", {**body(1, epoch=None), "epoch": EPOCH})


def test_v2_schemas_are_v1_plus_the_epoch() -> None:
    """Version 2 differs from version 1 only by the epoch; a field added to one version and
    not the other fails here."""
    for message in ("summary", "event"):
        v1, v2 = c.schema_document(message, 1), c.schema_document(message, 2)
        assert set(v2["properties"]) - set(v1["properties"]) == {"epoch"}
        assert [r for r in v2["required"] if r != "epoch"] == v1["required"]
        for k in v1["properties"]:
            if k not in ("schema", "id"):
                assert v1["properties"][k] == v2["properties"][k], (message, k)
    s1, s2 = c.schema_document("status", 1), c.schema_document("status", 2)
    assert {k: v for k, v in s2["properties"].items() if k in s1["properties"] and k != "schema"
            } == {k: v for k, v in s1["properties"].items() if k != "schema"}


def test_the_epoch_is_made_with_the_outbox_and_survives_reopening(tmp_path: Path) -> None:
    a = Outbox(tmp_path / "a" / "outbox.sqlite")
    epoch = a.epoch
    assert c.EPOCH_RE.match(epoch)
    a.append_many([lambda s: (c.summary_topic("gw-01", "heat"), b"x" * 10)], now=T)
    a.close()
    again = Outbox(tmp_path / "a" / "outbox.sqlite")
    assert again.epoch == epoch and again.last_seq() == 1
    again.close()
    wiped = Outbox(tmp_path / "b" / "outbox.sqlite")  # a new SD card: a new stream
    assert wiped.epoch != epoch and wiped.last_seq() == 0
    wiped.close()


def test_the_epoch_survives_sigkill_during_appends(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    code = ("import sys, time\nfrom gateway.outbox import Outbox\n"
            "ob = Outbox(sys.argv[1])\nprint(ob.epoch, flush=True)\n"
            "while True:\n"
            "    ob.append_many([lambda s: ('machimori/v1/gw/gw-01/summary/heat', b'x' * 50)]"
            " * 20, time.time())\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None
    epoch = proc.stdout.readline().strip()
    from machimori.procs import wait_for

    wait_for(lambda: _seq(path) > 200, 30, "appends to happen")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ob = Outbox(path)
    assert ob.epoch == epoch
    assert ob.depth() == ob.last_seq() and ob.last_seq() % 20 == 0  # whole batches only
    ob.close()


def _seq(path: Path) -> int:
    try:
        con = sqlite3.connect(path, timeout=5)
        try:
            return con.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_an_outbox_from_before_epochs_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE messages (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL,
                               payload BLOB NOT NULL, created REAL NOT NULL);
        INSERT INTO meta VALUES ('next_seq', 8);
        INSERT INTO messages VALUES (6, 'machimori/v1/gw/gw-01/event/sos', X'0102', 1.0);
        INSERT INTO messages VALUES (7, 'machimori/v1/gw/gw-01/summary/heat', X'010203', 1.0);
    """)
    con.close()
    ob = Outbox(path)
    assert c.EPOCH_RE.match(ob.epoch) and ob.last_seq() == 7
    assert [s for s, _, _ in ob.peek(0, 10)] == [6, 7]
    st = ob.status(2.0)
    assert st["outbox_bytes"] == 5 and st["outbox_depth"] == 2
    assert ob.append_many([lambda s: (c.summary_topic("gw-01", "heat"), b"x")], now=2.0) == [8]
    ob.close()


def test_a_known_id_with_a_different_payload_is_a_dead_letter(db_url: str) -> None:
    st = Store(db_url)
    first, again, other = msg(body(1)), msg(body(1)), msg(body(1, air=35.0))
    r = st.ingest([first, again])
    assert (r.stored, r.duplicates, r.dead) == (1, 1, 0)
    r = st.ingest([other, msg(body(2))])
    assert (r.stored, r.duplicates, r.dead, r.conflicts) == (1, 0, 1, 1)
    dead = st.db.execute("SELECT topic, payload, reason FROM dead_letters").fetchall()
    assert len(dead) == 1 and bytes(dead[0]["payload"]) == other[1]
    assert "gw-01:0123456789abcdef:1 is already stored with a different payload" in \
        dead[0]["reason"]
    stored = st.db.execute("SELECT \"values\" FROM summaries WHERE id = ?",
                           ("gw-01:0123456789abcdef:1",)).fetchone()[0]
    assert json.loads(stored)["air_c"]["mean"] == 31.0  # the first one stays
    # Within one batch too, events as well as summaries; the first of the two is kept.
    sos, forged = msg(body(5, kind="event")), msg({**body(5, kind="event"), "priority": 0})
    r = st.ingest([sos, forged])
    assert (r.stored, r.duplicates, r.conflicts) == (1, 0, 1)
    assert st.db.execute("SELECT priority FROM events").fetchone()[0] == 3
    st.close()


def test_a_wiped_gateway_new_stream_is_stored_beside_the_old(db_url: str) -> None:
    """What the epoch is for: the same gateway, sequence restarting at 1, nothing dropped."""
    st = Store(db_url)
    old = [msg(body(s)) for s in range(1, 6)] + [msg(body(s, epoch=None)) for s in range(1, 6)]
    assert st.ingest(old).stored == 10
    new = [msg(body(s, epoch="fedcba9876543210", air=30.0 + s)) for s in range(1, 6)]
    new.append(msg(body(6, epoch="fedcba9876543210", kind="event")))
    r = st.ingest(new)
    assert (r.stored, r.duplicates, r.dead) == (6, 0, 0)
    assert st.db.execute("SELECT count(*) FROM events WHERE kind = 'sos'").fetchone()[0] == 1
    st.close()


def test_a_selftest_message_is_not_stored_nor_dead_lettered(db_url: str) -> None:
    st = Store(db_url)
    r = st.ingest([(c.selftest_topic("gw-01"), b"nonce")])
    assert (r.stored, r.dead, r.ignored) == (0, 0, 1)
    assert st.db.execute("SELECT count(*) FROM dead_letters").fetchone()[0] == 0
    st.close()
