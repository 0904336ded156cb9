"""Phones and GPS terminals over OwnTracks: HTTP and MQTT, hostile reports, regions, silence.

The HTTP tests talk to the Flask app; the end-to-end tests run a real collector process with a
real Mosquitto, as the apps would reach them (HTTP mode with Basic auth, MQTT mode on
owntracks/<user>/<device>).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from collector.app import create_app
from collector.phones import add_region, check_silence, link
from collector.store import Store, connect
from collector.users import add_token, revoke_token
from machimori.procs import wait_for

from .harness import Collector

T = 1_785_700_000  # 2026-08-02, a summer morning


def loc(tst: int = T, lat: float = 34.8667, lon: float = 138.3236, **kw) -> bytes:
    return json.dumps({"_type": "location", "tst": tst, "lat": lat, "lon": lon, "acc": 12,
                       "batt": 81, "tid": "hk", "t": "u", **kw}).encode()


def basic(token: str, user: str = "hanako") -> str:
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


@pytest.fixture
def app(db_url: str):
    return create_app({"DATABASE": db_url, "TESTING": True})


@pytest.fixture
def token(app) -> str:
    db = connect(app.config["DATABASE"])
    try:
        return add_token(db, "hanako-phone", "device")
    finally:
        db.close()


def post(client, body: bytes, token: str, user: str = "hanako", device: str = "phone",
         headers: dict[str, str] | None = None):
    h = {"Authorization": basic(token), "X-Limit-U": user, "X-Limit-D": device,
         "Content-Type": "application/json", **(headers or {})}
    return client.post("/api/v1/owntracks", data=body, headers=h)


def rows(app, sql: str, args: tuple = ()) -> list[tuple]:
    db = connect(app.config["DATABASE"])
    try:
        return [tuple(r) for r in db.execute(sql, args).fetchall()]
    finally:
        db.close()


def test_location_over_http_is_stored_and_answered_with_an_array(app, token) -> None:
    c = app.test_client()
    r = post(c, loc(), token)
    assert r.status_code == 200 and r.get_json() == []
    assert rows(app, "SELECT username, device, person, lat, lon, acc, batt, via FROM phones") == [
        ("hanako", "phone", None, 34.8667, 138.3236, 12.0, 81, "http")]
    # The same report again (the app retries when it missed our answer) is stored once.
    assert post(c, loc(), token).status_code == 200
    assert rows(app, "SELECT count(*) FROM phone_reports") == [(1,)]


@pytest.mark.parametrize("body, says", [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"lat": 1}', "_type"),
    (b'{"_type": "location", "lat": 34.8, "lon": 138.3}', "tst"),
    (b'{"_type": "location", "tst": 1785700000, "lat": 95, "lon": 138.3}', "lat"),
    (b'{"_type": "location", "tst": 1785700000, "lat": "NaN", "lon": 138.3}', "lat"),
    (b'{"_type": "location", "tst": 1785700000, "lat": true, "lon": 138.3}', "lat"),
    (b'{"_type": "location", "tst": 99, "lat": 34.8, "lon": 138.3}', "tst"),
    (b'{"_type": "location", "tst": 1785700000, "lat": 34.8, "lon": 138.3, "batt": 300}',
     "batt"),
    (b'{"_type": "transition", "tst": 1785700000, "lat": 34.8, "lon": 138.3, "event": "x"}',
     "event"),
    (b'{"_type": "<script>", "tst": 1785700000}', "_type"),
])
def test_malformed_reports_get_a_4xx_with_the_reason_and_a_dead_letter(
        app, token, body: bytes, says: str) -> None:
    r = post(app.test_client(), body, token)
    assert r.status_code == 400
    assert r.get_json()["error"] == "bad_report" and says in r.get_json()["message"]
    assert rows(app, "SELECT count(*) FROM phone_reports") == [(0,)]
    dead = rows(app, "SELECT topic, payload, reason FROM dead_letters")
    assert len(dead) == 1 and bytes(dead[0][1]) == body and says in dead[0][2]


def test_bad_names_and_sizes_are_refused(app, token) -> None:
    c = app.test_client()
    assert post(c, loc(), token, user="<img src=x>").status_code == 400
    assert post(c, loc(), token, device="").status_code == 400
    assert post(c, b"{" + b" " * 20_000 + b"}", token).status_code == 413
    assert rows(app, "SELECT count(*) FROM phones") == [(0,)]


def test_empty_and_unused_types_are_accepted_and_ignored(app, token) -> None:
    c = app.test_client()
    assert post(c, b"", token).status_code == 200
    card = json.dumps({"_type": "card", "name": "Hanako", "face": "AAAA"}).encode()
    assert post(c, card, token).status_code == 200
    assert rows(app, "SELECT count(*) FROM phone_reports") == [(0,)]


def test_only_device_tokens_may_post_and_only_there(app, token) -> None:
    c = app.test_client()
    db = connect(app.config["DATABASE"])
    viewer = add_token(db, "dashboard", "viewer")
    db.close()
    assert post(c, loc(), viewer).status_code == 403
    assert post(c, loc(), "mm_not-a-token").status_code == 401
    r = c.post("/api/v1/owntracks", data=loc(), headers={"X-Limit-U": "a", "X-Limit-D": "b"})
    assert r.status_code in (400, 401)  # no credentials: never stored
    # A device token reads nothing else.
    for path in ("/api/v1/summaries", "/api/v1/events", "/api/v1/devices"):
        assert c.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert rows(app, "SELECT count(*) FROM phone_reports") == [(0,)]


def test_a_phone_is_bound_to_its_first_token_and_a_revoked_token_stops(app, token) -> None:
    c = app.test_client()
    assert post(c, loc(T), token).status_code == 200
    db = connect(app.config["DATABASE"])
    other = add_token(db, "someone-else", "device")
    db.close()
    r = post(c, loc(T + 60), other)
    assert r.status_code == 403 and r.get_json()["error"] == "bound_to_other_token"
    db = connect(app.config["DATABASE"])
    tid = db.execute("SELECT id FROM api_tokens WHERE name = 'hanako-phone'").fetchone()[0]
    revoke_token(db, tid)
    db.close()
    assert post(c, loc(T + 120), token).status_code == 401
    assert rows(app, "SELECT tst FROM phone_reports") == [(T,)]


def test_transitions_from_the_phone_and_from_watch_regions_become_events(app, token) -> None:
    c = app.test_client()
    home = (34.8667, 138.3236)
    assert post(c, loc(T, *home), token).status_code == 200
    db = connect(app.config["DATABASE"])
    link(db, "hanako", "phone", "person-007")
    add_region(db, "person-007", "home", *home, 80)
    db.close()
    # At home (sets the state, nothing crossed), then 300 m away, then back.
    post(c, loc(T + 60, *home), token)
    post(c, loc(T + 600, home[0] + 0.0027, home[1]), token)
    # At the boundary's margin: neither in nor clearly out, so no flapping.
    post(c, loc(T + 660, home[0] + 0.00080, home[1]), token)
    post(c, loc(T + 1200, *home), token)
    # The phone's own region (day care), as OwnTracks sends it.
    tr = json.dumps({"_type": "transition", "tst": T + 1800, "wtst": T - 86400, "lat": 34.87,
                     "lon": 138.33, "acc": 20, "event": "enter", "desc": "デイサービス",
                     "t": "c"}).encode()
    assert post(c, tr, token).status_code == 200
    ev = rows(app, "SELECT kind, device, ts, data FROM events WHERE gw = 'phone' ORDER BY ts")
    assert [(k, ts) for k, _, ts, _ in ev] == [("phone_leave", T + 600), ("phone_enter", T + 1200),
                                               ("phone_enter", T + 1800)]
    data = [json.loads(d) for *_, d in ev]
    assert [d["region"] for d in data] == ["home", "home", "デイサービス"]
    assert {d["person"] for d in data} == {"person-007"}
    assert [d["source"] for d in data] == ["collector", "collector", "phone"]


def test_an_old_report_sent_late_does_not_move_the_phone(app, token) -> None:
    c = app.test_client()
    post(c, loc(T + 600, 34.9, 138.4), token)
    post(c, loc(T, 34.1, 138.1), token)  # buffered while offline, sent afterwards
    assert rows(app, "SELECT lat, lon, last_tst FROM phones") == [(34.9, 138.4, T + 600)]
    assert rows(app, "SELECT count(*) FROM phone_reports") == [(2,)]


def test_silence_is_raised_once_survives_a_restart_and_ends_when_it_reports(
        app, token, db_url: str) -> None:
    c = app.test_client()
    post(c, loc(T), token)
    db = connect(db_url)
    link(db, "hanako", "phone", "person-007")
    # Received "now" by the collector: make the last report 7 hours old.
    db.execute("UPDATE phones SET last_seen = ?", (T,))
    assert check_silence(db, T + 5 * 3600) == []
    assert check_silence(db, T + 7 * 3600) == ["owntracks:hanako:phone"]
    db.close()
    # A restarted collector (new connection, same database) does not raise it again.
    db = connect(db_url)
    assert check_silence(db, T + 8 * 3600) == []
    db.close()
    silent = rows(app, "SELECT kind, ts, priority FROM events WHERE kind = 'phone_silent'")
    assert silent == [("phone_silent", T + 6 * 3600, 2)]
    # An unassigned phone raises nothing, however long it is silent.
    post(c, loc(T, user="taro"), token, user="taro")
    db = connect(db_url)
    db.execute("UPDATE phones SET last_seen = ? WHERE username = 'taro'", (T,))
    assert check_silence(db, T + 30 * 86400) == []
    db.close()
    post(c, loc(T + 9 * 3600), token)
    assert [k for (k,) in rows(app, "SELECT kind FROM events ORDER BY ts")] == [
        "phone_silent", "phone_back"]


def test_admin_sees_unassigned_phones_and_links_them(app, token) -> None:
    from collector.users import add_user

    from .test_auth import PASSWORD, csrf, login

    post(app.test_client(), loc(), token)
    db = connect(app.config["DATABASE"])
    add_user(db, "admin-user", PASSWORD, "admin")
    db.close()
    c = app.test_client()
    login(c, "admin")
    page = c.get("/admin/phones").get_data(as_text=True)
    assert "<em>未割り当て</em>" in page and "hanako" in page
    r = c.post("/admin/phones", data={"user": "hanako", "device": "phone",
                                      "person": "person-001", "csrf_token": csrf(c)})
    assert r.status_code == 200 and "<em>未割り当て</em>" not in r.get_data(as_text=True)
    assert rows(app, "SELECT person FROM phones") == [("person-001",)]
    r = c.post("/admin/phones", data={"user": "hanako", "device": "phone",
                                      "person": "<script>", "csrf_token": csrf(c)})
    assert r.status_code == 400 and "<script>" not in r.get_data(as_text=True)


# ---- end to end: a real collector process and a real Mosquitto

def _http(base: str, body: bytes, token: str, user: str, device: str) -> int:
    req = urllib.request.Request(base + "/api/v1/owntracks", data=body, method="POST", headers={
        "Authorization": basic(token, user), "X-Limit-U": user, "X-Limit-D": device,
        "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            assert json.loads(r.read()) == []
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_mqtt_and_http_reports_reach_a_real_collector_and_survive_sigkill(
        tmp_path: Path, mosquitto) -> None:
    col = Collector(tmp_path / "col", mosquitto.url)
    col.dir.mkdir()
    st = Store(col.db)
    token = add_token(st.db, "phone", "device")
    st.close()
    col.start()
    try:
        assert _http(col.base, loc(T), token, "hanako", "phone") == 200
        assert _http(col.base, b'{"_type": "location"}', token, "hanako", "phone") == 400
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="taro-phone")
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        infos = [pub.publish("owntracks/taro/terminal", loc(T + i * 60, batt=50 - i), qos=1)
                 for i in range(5)]
        infos.append(pub.publish("owntracks/taro/terminal", b'{"_type":"lwt","tst":%d}'
                                 % (T + 400), qos=1))
        infos.append(pub.publish("owntracks/taro/terminal", b"garbage", qos=1))
        for info in infos:
            info.wait_for_publish(10)
        wait_for(lambda: col.query("SELECT count(*) FROM phone_reports WHERE via='mqtt'")[0][0]
                 == 6, 20, "MQTT reports stored")
        wait_for(lambda: col.query("SELECT count(*) FROM dead_letters WHERE topic = "
                                   "'owntracks/taro/terminal'")[0][0] == 1, 20, "dead letter")
        col.kill()
        col.start()
        # Everything stored before the SIGKILL is there; the restarted collector goes on.
        assert _http(col.base, loc(T + 60), token, "hanako", "phone") == 200
        pub.publish("owntracks/taro/terminal", loc(T + 3600), qos=1).wait_for_publish(10)
        wait_for(lambda: col.query("SELECT count(*) FROM phone_reports")[0][0] == 9, 20,
                 "reports after restart")
        assert col.query("SELECT username, device, batt, via FROM phones ORDER BY username") == [
            ("hanako", "phone", 81, "http"), ("taro", "terminal", 81, "mqtt")]
        assert col.query("SELECT kind FROM events WHERE gw = 'phone'") == [("phone_lwt",)]
        pub.loop_stop()
        pub.disconnect()
    finally:
        col.stop()


def test_a_silent_phone_raises_one_watch_alert_for_its_person() -> None:
    # The alert engine reads phone_silent as collector/phones.py writes it: the person comes
    # from the event's data (the phone is not a gateway device), one alert however often.
    from collector.watch.engine import Engine, EventIn

    from .test_watch_engine import NOON, directory

    eng = Engine([], [], directory())
    T = NOON  # daytime: quiet hours would hold an urgent alert at night
    first = None
    for n in range(3):
        a = eng.event(EventIn(f"phone:hanako:phone:phone_silent:{n}", "phone_silent",
                              "owntracks:hanako:phone", "phone", T + n * 3600,
                              {"person": "p1", "user": "hanako", "device": "phone"}), T + n)
        first = first or a
        assert a is first
    assert first is not None and (first.subject, first.severity) == ("person:p1", 2)
    assert [n.template for n in eng.tick(T + 10)] == ["alert"]
    # An unlinked phone's enter/leave is information, never an alert.
    assert eng.event(EventIn("x", "phone_leave", "owntracks:taro:t", "phone", T, {}), T) is None
