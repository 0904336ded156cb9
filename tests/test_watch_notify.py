"""From a stored event to what each provider receives, against local recorders: a
Twilio-compatible SMS API, webhook receivers, an SMTP server (aiosmtpd) and a web-push service.
The engine's clock is passed in (09:00 JST on a Monday), so nothing waits on wall time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from collector.app import create_app
from collector.store import Store
from collector.users import add_token
from collector.watch import crypto
from collector.watch.config import WatchConfig
from collector.watch.engine import CAUSES_JA
from collector.watch.notify import Notifier
from collector.watch.pages import twilio_signature
from collector.watch.people import (
    add_household,
    add_person,
    add_responder,
    assign,
    link_device,
    set_push_subscription,
)
from collector.watch.state import add_silence, cycle

from .recorders import HTTPRecorder, SMTPRecorder

T = 1_785_715_200.0  # Monday 2026-08-03 09:00 JST
SID, TOKEN, FROM = "AC0123456789", "twilio-auth-token", "+815012345678"
FAMILY_TEL, MINSEI_TEL, CITY_TEL, RESIDENT_TEL = ("+819011110001", "+819011110002",
                                                  "+819011110004", "+819011110009")
NAME = "山田 花子"


@pytest.fixture
def sms() -> Iterator[HTTPRecorder]:
    rec = HTTPRecorder().start()
    yield rec
    rec.stop()


@pytest.fixture
def hook() -> Iterator[HTTPRecorder]:
    rec = HTTPRecorder(status=200).start()
    yield rec
    rec.stop()


@pytest.fixture
def smtp() -> Iterator[SMTPRecorder]:
    rec = SMTPRecorder().start()
    yield rec
    rec.stop()


class Town:
    def __init__(self, url: str, tmp: Path, sms: HTTPRecorder, hook: HTTPRecorder | None,
                 smtp: SMTPRecorder | None):
        self.st = Store(url)
        self.db = self.st.db
        self.key_file = tmp / "watch.key"
        self.keys = crypto.load(self.key_file, url)
        self.cfg = WatchConfig(public_url="http://collector.test", sms_url=sms.url,
                               sms_sid=SID, sms_token=TOKEN, sms_from=FROM,
                               smtp_host="127.0.0.1" if smtp else None,
                               smtp_port=smtp.port if smtp else 25,
                               mail_from="mimamori@town.example")
        self.notifier = Notifier(self.db, self.cfg, self.keys, tmp / "vapid.pem")
        k, db = self.keys, self.db
        add_household(db, k, "h1", "青梅市本町1-2-3", T)
        add_person(db, k, "person-001", NAME, T, household="h1", phone_number=RESIDENT_TEL)
        add_person(db, k, "person-002", "鈴木 一郎", T, household="h2")
        link_device(db, "tag-001", "tag", T, person="person-001")
        link_device(db, "tag-002", "tag", T, person="person-002")
        link_device(db, "meter-001", "meter", T, household="h1")
        self.family = add_responder(db, k, "山田 太郎", 1, "family", T, username="taro",
                                    phone_number=FAMILY_TEL, email="taro@example.jp",
                                    webhook_url=hook.url + "/hook" if hook else None,
                                    webhook_secret="whsec")
        self.minsei = add_responder(db, k, "佐藤 民生委員", 2, "minsei", T,
                                    phone_number=MINSEI_TEL)
        self.city = add_responder(db, k, "市 見守り係", 4, "city", T, phone_number=CITY_TEL)
        for r in (self.family, self.minsei, self.city):
            assign(db, "person-001", r)
        assign(db, "person-002", self.minsei)
        self.seq = 0

    def event(self, kind: str, device: str = "tag-001", gw: str = "gw-01", ts: float = T,
              **data: Any) -> None:
        self.seq += 1
        body = {"schema": "machimori/event/1", "id": f"{gw}:{self.seq}", "gw": gw,
                "seq": self.seq, "kind": kind, "device": device, "ts": ts, "priority": 2,
                "data": data}
        r = self.st.ingest([(f"machimori/v1/gw/{gw}/event/{kind}", json.dumps(body).encode())],
                           now=ts)
        assert r.stored == 1

    def app(self, **config: Any) -> Any:
        return create_app({"DATABASE": self.db.url, "TESTING": True, "WATCH_SMS_TOKEN": TOKEN,
                           "WATCH_PUBLIC_URL": "http://collector.test",
                           "WATCH_KEY_FILE": str(self.key_file), **config})

    def turn(self, now: float) -> None:
        cycle(self.db, self.cfg.engine, now)
        self.notifier.run_once(now)

    def alerts(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.db.execute(
            "SELECT subject, cause, state FROM watch_alerts ORDER BY id").fetchall()]


@pytest.fixture
def town(db_url: str, tmp_path: Path, sms: HTTPRecorder, hook: HTTPRecorder,
         smtp: SMTPRecorder) -> Iterator[Town]:
    t = Town(db_url, tmp_path, sms, hook, smtp)
    yield t
    t.st.close()


def sms_to(rec: HTTPRecorder, number: str) -> list[str]:
    return [r.form["Body"] for r in rec.ok("/Messages.json") if r.form["To"] == number]


def test_each_anomaly_kind_gives_exactly_one_alert_and_one_sms(town: Town, sms: HTTPRecorder
                                                               ) -> None:
    kinds = [("sos", "tag-001"), ("fall", "tag-001"), ("night_wandering", "tag-001"),
             ("continuous_use", "meter-001"), ("morning_rise_missing", "meter-001"),
             ("tag_not_seen", "tag-001")]
    for kind, device in kinds:
        for _ in range(3):  # the same trouble, reported three times
            town.event(kind, device, last_seen=T - 6 * 3600)
    town.turn(T + 1)
    town.turn(T + 2)
    causes = [c for _, c, _ in town.alerts()]
    assert sorted(causes) == sorted(["sos", "fall", "night_wandering", "continuous_use",
                                     "morning_rise_missing", "not_seen"])
    family = sms_to(sms, FAMILY_TEL)
    assert len(family) == 6
    for cause in causes:
        assert sum(CAUSES_JA[cause] in b for b in family) == 1, cause
    assert all(NAME in b and "http://collector.test/watch/a/" in b for b in family)
    r = sms.ok()[0]
    assert r.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert r.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{SID}:{TOKEN}".encode()).decode()
    assert r.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert r.form["From"] == FROM
    assert sms_to(sms, MINSEI_TEL) == []  # tier 2 only once tier 1 has had its time
    states = {tuple(x) for x in town.db.execute(
        "SELECT channel, state FROM watch_notifications").fetchall()}
    assert states == {("sms", "sent"), ("email", "sent"), ("webhook", "sent")}


def test_household_inactivity_asks_the_resident_and_a_reply_cancels(town: Town,
                                                                    sms: HTTPRecorder) -> None:
    town.event("no_sign_of_life", "meter-001", household="h1")
    town.turn(T + 1)
    asked = sms_to(sms, RESIDENT_TEL)
    assert len(asked) == 1 and "「1」と返信" in asked[0] and sms_to(sms, FAMILY_TEL) == []
    app = town.app()
    c = app.test_client()
    form = {"From": RESIDENT_TEL, "Body": "1", "MessageSid": "SMx"}
    sig = twilio_signature(TOKEN, "http://collector.test/watch/sms", list(form.items()))
    assert c.post("/watch/sms", data=form, headers={"X-Twilio-Signature": "bad"}
                  ).status_code == 403
    assert c.post("/watch/sms", data=form).status_code == 403
    r = c.post("/watch/sms", data=form, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 200 and "<Message>" in r.get_data(as_text=True)
    assert town.alerts() == [("household:h1", "inactivity", "resolved")]
    town.turn(T + 7200)
    assert sms_to(sms, FAMILY_TEL) == []


def test_no_reply_from_the_resident_starts_the_chain(town: Town, sms: HTTPRecorder) -> None:
    town.event("no_sign_of_life", "meter-001", household="h1")
    town.turn(T + 1)
    town.turn(T + 1801)
    assert len(sms_to(sms, FAMILY_TEL)) == 1


def test_acknowledgement_link_works_and_stops_the_escalation(town: Town, sms: HTTPRecorder
                                                             ) -> None:
    town.event("sos")
    town.turn(T + 1)
    body = sms_to(sms, FAMILY_TEL)[0]
    path = re.search(r"http://collector\.test(/watch/a/\S+)", body).group(1)
    app = town.app()
    c = app.test_client()
    page = c.get(path)
    assert page.status_code == 200 and CAUSES_JA["sos"] in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert c.post(path, data={"action": "acknowledge"}).status_code == 400  # no CSRF token
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    done = c.post(path, data={"action": "acknowledge", "csrf_token": csrf, "note": "向かいます"})
    assert done.status_code == 200 and "受け付けました" in done.get_data(as_text=True)
    assert town.alerts() == [("person:person-001", "sos", "acknowledged")]
    log = town.db.execute("SELECT actor, note FROM watch_alert_log WHERE action = "
                          "'acknowledged'").fetchall()
    assert [tuple(x) for x in log] == [(f"responder:{town.family}", "向かいます")]
    town.turn(T + 1000)
    assert sms_to(sms, MINSEI_TEL) == []  # acknowledged: no escalation
    assert c.get(path[:-3] + "xyz").status_code == 404  # a tampered link
    expired = town.app(WATCH_LINK_TTL_S=-1)
    assert expired.test_client().get(path).status_code == 410


def test_unacknowledged_alert_escalates_then_reminds_after_acknowledgement(
        town: Town, sms: HTTPRecorder) -> None:
    town.event("sos")
    town.turn(T + 1)
    town.turn(T + 200)
    assert sms_to(sms, MINSEI_TEL) == []
    town.turn(T + 302)
    assert len(sms_to(sms, MINSEI_TEL)) == 1
    # the 民生委員 replies "1" by SMS: acknowledged by them
    app = town.app()
    form = {"From": MINSEI_TEL, "Body": "1"}
    sig = twilio_signature(TOKEN, "http://collector.test/watch/sms", list(form.items()))
    app.test_client().post("/watch/sms", data=form, headers={"X-Twilio-Signature": sig})
    assert town.alerts()[0][2] == "acknowledged"
    town.turn(T + 1000)
    assert sms_to(sms, CITY_TEL) == []
    import time as _time

    ack_at = town.db.execute("SELECT acked_at FROM watch_alerts").fetchone()[0]
    assert abs(ack_at - _time.time()) < 60
    town.turn(ack_at + 3601)  # acknowledged, not resolved: the one who took it is reminded
    reminders = sms_to(sms, MINSEI_TEL)
    assert len(reminders) == 2 and "まだ「解決」になっていません" in reminders[1]


def test_a_silence_holds_then_ends(town: Town, sms: HTTPRecorder) -> None:
    add_silence(town.db, "person:person-001", "*", T - 60, T + 7200, "入院中", "admin")
    town.event("sos")
    town.turn(T + 1)
    assert sms.ok() == []
    town.turn(T + 3600)  # the notice before the end goes to tier 1
    notice = sms_to(sms, FAMILY_TEL)
    assert len(notice) == 1 and "入院中" in notice[0] and "再開" in notice[0]
    town.turn(T + 7201)
    bodies = sms_to(sms, FAMILY_TEL)
    assert len(bodies) == 2 and CAUSES_JA["sos"] in bodies[1]


def test_gateway_outage_inhibits_the_not_seen_alerts_behind_it(town: Town,
                                                               sms: HTTPRecorder) -> None:
    town.st.ingest([("machimori/v1/gw/gw-01/status", json.dumps(
        {"schema": "machimori/status/1", "gw": "gw-01", "state": "offline", "ts": T}).encode())])
    for tag in ("tag-001", "tag-002"):
        town.event("tag_not_seen", tag, last_seen=T - 6 * 3600)
    town.turn(T + 1)
    town.turn(T + 2)
    assert sms_to(sms, FAMILY_TEL) == [] and sms_to(sms, MINSEI_TEL) == []
    city = sms_to(sms, CITY_TEL)
    assert len(city) == 1 and "中継機 gw-01" in city[0]
    muted = town.db.execute("SELECT muted FROM watch_alerts WHERE cause = 'not_seen'"
                            ).fetchall()
    assert [m[0] for m in muted] == ["inhibited", "inhibited"]


def test_webhook_is_signed_retried_alone_with_the_same_idempotency_key(
        town: Town, sms: HTTPRecorder, hook: HTTPRecorder, smtp: SMTPRecorder) -> None:
    hook.fail_next = 1
    town.event("fall")
    town.turn(T + 1)
    assert len(sms.ok()) == 1 and len(hook.ok()) == 0 and len(smtp.messages) == 1
    town.turn(T + 4)  # before the back-off: nothing
    assert len(hook.requests) == 1
    town.turn(T + 7)
    assert len(hook.ok()) == 1 and len(sms.ok()) == 1 and len(smtp.messages) == 1
    h = {"Authorization": "Bearer " + add_token(town.db, "ops", "admin")}
    [alert] = town.app().test_client().get("/api/v1/watch/alerts", headers=h).get_json()["items"]
    import jsonschema

    doc = town.app().test_client().get("/api/v1/openapi.json").get_json()
    v = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/WatchAlert",
                                         "components": doc["components"]})
    assert list(v.iter_errors(alert)) == []
    told = {(d["channel"], d["state"], d["attempts"]) for d in alert["deliveries"]}
    assert told == {("sms", "sent", 1), ("email", "sent", 1), ("webhook", "sent", 2)}
    first, second = hook.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    ts, sig = second.headers["X-Machimori-Timestamp"], second.headers["X-Machimori-Signature"]
    want = hmac.new(b"whsec", ts.encode() + b"." + second.body, hashlib.sha256).hexdigest()
    assert sig == "v1=" + want
    payload = second.json()
    assert payload["cause"] == "fall" and payload["severity"] == 3
    assert NAME not in second.body.decode()  # machines get ids, not names
    mail = message_from_bytes(smtp.messages[0][2], policy=policy.default)
    assert smtp.messages[0][1] == ["taro@example.jp"]
    assert CAUSES_JA["fall"] in mail["Subject"] and NAME in mail.get_content()


def test_web_push_reaches_the_subscription_encrypted(town: Town, tmp_path: Path) -> None:
    import http_ece
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    push = HTTPRecorder(status=201).start()
    try:
        browser = ec.generate_private_key(ec.SECP256R1())
        auth = b"0123456789abcdef"
        pub = browser.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        set_push_subscription(town.db, town.keys, town.minsei, {
            "endpoint": push.url + "/push/abc", "keys": {"p256dh": b64(pub), "auth": b64(auth)}})
        town.event("sos")
        town.turn(T + 1)
        town.turn(T + 302)
        [r] = push.ok("/push/abc")
        assert r.headers["Content-Encoding"] == "aes128gcm"
        assert r.headers["Authorization"].startswith("vapid t=")
        plain = http_ece.decrypt(r.body, private_key=browser, auth_secret=auth,
                                 version="aes128gcm")
        msg = json.loads(plain)
        assert CAUSES_JA["sos"] in msg["title"] and msg["url"].startswith(
            "http://collector.test/watch/a/")
    finally:
        push.stop()



def test_bad_input_gets_a_clear_refusal(town: Town) -> None:
    c = town.app().test_client()
    form = {"From": "not a number", "Body": "1"}
    sig = twilio_signature(TOKEN, "http://collector.test/watch/sms", list(form.items()))
    r = c.post("/watch/sms", data=form, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 400 and "From" in r.get_json()["message"]
    # a reply from a number nobody knows: accepted by the provider's rules, changes nothing
    form = {"From": "+819099999999", "Body": "1"}
    sig = twilio_signature(TOKEN, "http://collector.test/watch/sms", list(form.items()))
    assert c.post("/watch/sms", data=form, headers={"X-Twilio-Signature": sig}
                  ).status_code == 200
    h = {"Authorization": "Bearer " + add_token(town.db, "ops", "admin")}
    for body, why in (([], "JSON object"), ({"subject": "gw:gw-01", "ends_at": T, "reason": "x"},
                                            "subject"),
                      ({"subject": "person:person-001", "ends_at": "tomorrow", "reason": "x"},
                       "ends_at"),
                      ({"subject": "person:person-001", "ends_at": T + 60, "reason": ""},
                       "reason"),
                      ({"subject": "person:person-001", "ends_at": T - 60, "starts_at": T,
                        "reason": "入院中"}, "end after"),
                      ({"subject": "person:person-001", "ends_at": T + 60, "cause": "boredom",
                        "starts_at": T, "reason": "入院中"}, "cause")):
        r = c.post("/api/v1/watch/silences", json=body, headers=h)
        assert r.status_code == 400 and why in r.get_json()["message"], body
    r = c.post("/api/v1/watch/alerts/1/explode", headers=h)
    assert r.status_code == 400
    r = c.post("/api/v1/watch/alerts/999/acknowledge", headers=h)
    assert r.status_code == 404
    assert c.post("/api/v1/watch/silences", json={"subject": "person:person-001", "cause": "*",
                                                 "starts_at": T, "ends_at": T + 60,
                                                 "reason": "旅行中"}, headers=h).status_code == 201


def test_without_a_key_ring_messages_wait_and_then_go(town: Town, sms: HTTPRecorder) -> None:
    town.event("sos")
    cycle(town.db, town.cfg.engine, T + 1)
    keyless = Notifier(town.db, town.cfg, None, Path("unused.pem"))
    keyless.run_once(T + 1)
    row = town.db.execute("SELECT state, last_error FROM watch_notifications WHERE "
                          "channel = 'sms'").fetchone()
    assert row[0] == "failed" and "key ring" in row[1] and sms.ok() == []
    town.notifier.run_once(T + 10)  # restarted with the key: the message goes, once
    assert len(sms_to(sms, FAMILY_TEL)) == 1
