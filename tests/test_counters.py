"""Third-party people counters (counts only, never images) over MQTT: the contract's parser,
and a counter through a real Mosquitto into a real collector process, where its counts become a
site the impact estimate reads; malformed payloads end as dead letters with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from machimori.contract import counter
from machimori.procs import wait_for

from .harness import Collector, Mosquitto

TOPIC = "machimori/v1/counter/cam-1/count"

T = 1_785_729_600.0  # 2026-08-03 13:00 JST
GOOD = {"schema": "machimori/counter/1", "counter": "cam-1", "start": T, "end": T + 900,
        "in": 41, "out": 37, "site": "駅前通り", "lat": 36.147, "lon": 139.389}


def raw(**changes: object) -> bytes:
    doc = {**GOOD, **changes}
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def test_a_good_count_parses() -> None:
    c = counter.parse(counter.count_topic("cam-1"), raw())
    assert (c.counter, c.count_in, c.count_out, c.site, c.site_id) == (
        "cam-1", 41, 37, "駅前通り", "counter-cam-1")
    assert counter.parse(counter.count_topic("cam-1"), counter.encode(c)) == c


@pytest.mark.parametrize(("topic", "payload", "why"), [
    ("machimori/v1/counter/cam-1/count", b"{not json", "not JSON"),
    ("machimori/v1/counter/cam-1/count", raw(out=None), "out"),
    ("machimori/v1/counter/cam-1/count", raw(**{"in": -3}), "in"),
    ("machimori/v1/counter/cam-1/count", raw(image="aGVsbG8="), "Additional properties"),
    ("machimori/v1/counter/cam-1/count", raw(counter="cam-2"), "does not match"),
    ("machimori/v1/counter/cam-1/count", raw(end=T - 1), "end must be after start"),
    ("machimori/v1/counter/cam-1/count", raw(lon=None), "lon"),
    ("machimori/v1/counter/cam-1/count", raw(site="a\u202eb"), "site"),
    ("machimori/v1/counter/Cam_1/count", raw(), "counter id"),
    ("machimori/v1/counter/cam-1/images", raw(), "is not"),
])
def test_bad_counts_are_refused_with_the_reason(topic: str, payload: bytes, why: str) -> None:
    with pytest.raises(counter.CounterError, match=why):
        counter.parse(topic, payload)


def test_a_counter_through_mosquitto_becomes_a_site(tmp_path: Path,
                                                    mosquitto: Mosquitto) -> None:
    col = Collector(tmp_path, mosquitto.url).start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="cam-1")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    try:
        # The collector's subscription is in place once its own status query answers; publish
        # until the first count is stored (QoS 1, so each publish reaches a live subscription).
        def stored() -> bool:
            pub.publish(counter.count_topic("cam-1"), raw(), qos=1).wait_for_publish(5)
            return bool(col.query("SELECT 1 FROM summaries WHERE gw = 'counter-cam-1'"))

        wait_for(stored, 30, "the first count stored")
        for k in range(1, 4):  # the next three quarter-hours
            pub.publish(counter.count_topic("cam-1"),
                        raw(start=T + 900 * k, end=T + 900 * (k + 1), **{"in": 10 * k}),
                        qos=1).wait_for_publish(5)
        pub.publish(counter.count_topic("cam-1"), raw(out=None), qos=1).wait_for_publish(5)
        pub.publish(counter.count_topic("cam-1"), b"\xff\xfe", qos=1).wait_for_publish(5)
        wait_for(lambda: len(col.query("SELECT 1 FROM dead_letters")) >= 2, 30,
                 "the dead letters")
        wait_for(lambda: len(col.query("SELECT 1 FROM summaries WHERE gw = 'counter-cam-1'"))
                 == 4, 30, "four quarter-hours")
        dead = col.query("SELECT topic, reason FROM dead_letters ORDER BY id")
        assert [t for t, _ in dead] == ["machimori/v1/counter/cam-1/count"] * 2
        assert "out" in dead[0][1] and "not JSON" in dead[1][1]
        place = col.query("SELECT kind, lat, lon, name FROM devices WHERE id = 'counter-cam-1'")
        assert place == [("people", 36.147, 139.389, "駅前通り")]
        # The impact page's hourly counts take the counter as a site: the hour's mean count.
        from collector.db import Database
        from collector.impact import _hourly

        db = Database(col.db, readonly=True)
        try:
            cells = _hourly(db, ["counter-cam-1"], T - 3600, T + 7200)
        finally:
            db.close()
        assert cells == {("counter-cam-1", T): [pytest.approx((78 + 47 + 57 + 67) / 4),
                                                pytest.approx(float("nan"), nan_ok=True)]}
    finally:
        pub.loop_stop()
        pub.disconnect()
        col.stop()


def test_counts_are_stored_once_and_a_changed_count_is_a_conflict(db_url: str) -> None:
    """On SQLite and PostgreSQL: a redelivered count is a duplicate; another count for the
    same period is a conflict (dead letter), never a silent overwrite."""
    from collector.store import Store

    st = Store(db_url)
    try:
        r = st.ingest([(TOPIC, raw()), (TOPIC, raw()), (TOPIC, raw(out=None))])
        assert (r.stored, r.duplicates, r.dead) == (1, 1, 1)
        r = st.ingest([(TOPIC, raw(**{"in": 99}))])
        assert (r.stored, r.conflicts, r.dead) == (0, 1, 1)
        row = st.db.execute('SELECT gw, device, kind, n, "values" FROM summaries').fetchall()
        assert [(x[0], x[1], x[2], x[3]) for x in row] == [
            ("counter-cam-1", "counter-cam-1", "people", 78)]
        values = json.loads(row[0][4])
        assert (values["unique_devices"]["last"], values["count_in"]["last"],
                values["count_out"]["last"]) == (78, 41, 37)
    finally:
        st.close()
