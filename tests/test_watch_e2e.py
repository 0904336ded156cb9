"""The watch end to end, with real processes: an SOS published through a real Mosquitto reaches
`machimori collector run`, whose alert engine and notifier send the SMS to a local
Twilio-compatible recorder; a collector killed with SIGKILL loses no queued notification and
re-sends none already delivered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from collector.store import connect, migrate
from collector.watch import crypto
from collector.watch.people import add_person, add_responder, assign, link_device
from machimori.procs import wait_for

from .harness import Collector, Mosquitto
from .recorders import HTTPRecorder

SID, TOKEN, FROM = "AC00e2e", "e2e-token", "+815000000000"
TEL = {1: "+819022220001", 2: "+819022220002"}


@pytest.fixture
def sms() -> Iterator[HTTPRecorder]:
    rec = HTTPRecorder().start()
    yield rec
    rec.stop()


def setup_people(db_path: str) -> None:
    db = connect(db_path)
    migrate(db)
    keys = crypto.load(None, db_path)
    for i in (1, 2):
        add_person(db, keys, f"person-00{i}", f"住民 {i}", 0.0)
        link_device(db, f"tag-00{i}", "tag", 0.0, person=f"person-00{i}")
        rid = add_responder(db, keys, f"家族 {i}", 1, "family", 0.0, phone_number=TEL[i])
        assign(db, f"person-00{i}", rid)
    db.close()


def sos(seq: int, device: str) -> tuple[str, bytes]:
    body = {"schema": "machimori/event/1", "id": f"gw-01:{seq}", "gw": "gw-01", "seq": seq,
            "kind": "sos", "device": device, "ts": 1_785_715_200.0 + seq, "priority": 3,
            "data": {"rssi": -70, "battery": 80, "event_counter": seq}}
    return "machimori/v1/gw/gw-01/event/sos", json.dumps(body).encode()


def publish(broker: Mosquitto, *messages: tuple[str, bytes]) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="e2e-pub")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        for topic, payload in messages:
            c.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        c.loop_stop()
        c.disconnect()


def collector(tmp: Path, broker: Mosquitto, sms: HTTPRecorder, db: str) -> Collector:
    return Collector(tmp, broker.url, db=db, extra_args=(
        "--sms-url", sms.url, "--sms-sid", SID, "--sms-from", FROM,
        "--public-url", "http://collector.test"))


def to(sms: HTTPRecorder, number: str) -> list[str]:
    return [r.form["Body"] for r in sms.ok("/Messages.json") if r.form["To"] == number]


def test_sos_through_mosquitto_reaches_the_sms_provider_and_survives_sigkill(
        tmp_path: Path, mosquitto: Mosquitto, sms: HTTPRecorder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MACHIMORI_SMS_TOKEN", TOKEN)  # the child inherits it: never in argv
    db = str(tmp_path / "collector.sqlite")
    setup_people(db)
    col = collector(tmp_path, mosquitto, sms, db).start()
    try:
        publish(mosquitto, sos(1, "tag-001"), sos(2, "tag-001"))  # one incident, heard twice
        wait_for(lambda: len(to(sms, TEL[1])) == 1, 30, "the SOS SMS to person-001's family")
        assert "住民 1さんのSOS" in to(sms, TEL[1])[0]
        # The provider goes down; person-002's SOS is queued and fails once...
        sms.fail_next = 10_000
        publish(mosquitto, sos(3, "tag-002"))
        wait_for(lambda: col.query("SELECT count(*) FROM watch_notifications WHERE "
                                   "state = 'failed'")[0][0] == 1, 30, "a failed attempt")
        col.kill()  # ...and the collector dies with it queued
        sms.fail_next = 0
        col.start()
        wait_for(lambda: len(to(sms, TEL[2])) == 1, 60, "the queued SMS after the restart")
        states = col.query("SELECT state, count(*) FROM watch_notifications GROUP BY state")
        assert states == [("sent", 2)]
        assert len(to(sms, TEL[1])) == 1  # nothing already delivered was sent again
        alerts = col.query("SELECT subject, cause, events FROM watch_alerts ORDER BY id")
        assert alerts == [("person:person-001", "sos", 2), ("person:person-002", "sos", 1)]
        # A second restart finds nothing to do: no event is consumed twice.
        col.kill()
        col.start()
        publish(mosquitto, sos(4, "tag-001"))  # a new report of the open incident
        wait_for(lambda: col.query("SELECT events FROM watch_alerts WHERE id = 1")[0][0] == 3,
                 30, "the new report joining the open alert")
        assert len(sms.ok()) == 2
    finally:
        col.stop()
