"""The collector's side of cool spots: the controller's decisions, the command log and acks,
the API for the map and for admins — on a real SQLite database built from the migrations."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from collector import actuators as act
from collector.app import create_app
from collector.store import Store, connect, migrate
from collector.users import add_user

from .test_collector import summary

NOW = time.time()
SPOT = (36.14, 139.38)  # test_collector.summary's place


def spot(**kw: object) -> act.Actuator:
    base: dict[str, object] = {
        "id": "mist-1", "gw": "gw-01", "name": "", "lat": SPOT[0], "lon": SPOT[1],
        "radius_m": 150.0, "on_wbgt": 28.0, "off_wbgt": 27.0, "min_interval_s": 300.0,
        "hold_s": 900, "auto": True, "state": "off", "state_at": NOW - 1000}
    base.update(kw)
    return act.Actuator(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("a", "wbgt", "open_cmd", "last", "want"), [
    (spot(), 28.0, False, None, "on"),                        # reaches the threshold
    (spot(), 27.9, False, None, None),                        # below: stays off
    (spot(state="on", state_at=NOW - 10), 27.5, False, None, None),  # in the band: keeps on
    (spot(state="on", state_at=NOW - 10), 26.9, False, None, "off"),  # below off_wbgt
    (spot(), 31.0, True, None, None),                         # a command is unanswered
    (spot(), 31.0, False, NOW - 299, None),                   # rate limit
    (spot(), 31.0, False, NOW - 301, "on"),
    (spot(state="on", state_at=NOW - 901), 31.0, False, None, "on"),  # the device timed out
    (spot(state="on", state_at=NOW - 10), None, False, None, "off"),  # no live reading
    (spot(auto=False), 35.0, False, None, None),              # manual only
    (spot(state="unknown"), 20.0, False, None, "off"),       # first contact: make it known
])
def test_decide(a: act.Actuator, wbgt: float | None, open_cmd: bool, last: float | None,
                want: str | None) -> None:
    d = act.decide(a, wbgt, open_cmd, last, NOW)
    assert (d[0] if d else None) == want


def test_wbgt_near_takes_the_hottest_live_sensor_within_the_radius(db_url: str) -> None:
    st = Store(db_url)
    st.ingest([summary(1, device="near", end=NOW, wbgt=29.0),
               summary(2, device="old", end=NOW - 3600, wbgt=33.0)])
    far = summary(3, device="far", end=NOW, wbgt=35.0)
    body = json.loads(far[1])
    body["place"] = {"lat": SPOT[0] + 0.01, "lon": SPOT[1]}  # ~1.1 km away
    st.ingest([(far[0], json.dumps(body).encode())])
    a = act.register(st.db, id="mist-1", gw="gw-01", lat=SPOT[0], lon=SPOT[1], on_wbgt=28,
                     now=NOW)
    assert act.wbgt_near(st.db, a, NOW) == 29.0
    st.close()


def test_acks_are_logged_once_and_move_the_state(db_url: str) -> None:
    db = connect(db_url)
    migrate(db)
    a = act.register(db, id="mist-1", gw="gw-01", lat=SPOT[0], lon=SPOT[1], on_wbgt=28,
                     now=NOW)
    cid = act.queue_command(db, a, "on", "auto", "WBGT 30.0 >= 28.0", 30.0, NOW)
    assert act.open_commands(db, "mist-1") == (True, NOW)
    ack = {"id": cid, "gw": "gw-01", "device": "mist-1", "result": "done", "on": True}
    assert act.record_ack(db, ack, NOW + 1)
    assert not act.record_ack(db, {**ack, "result": "refused"}, NOW + 2)  # redelivered
    assert not act.record_ack(db, {**ack, "gw": "gw-02"}, NOW + 2)  # forged by another gw
    [row] = act.command_log(db)
    assert (row["result"], row["ack_on"], row["source"], row["wbgt"]) == ("done", True, "auto",
                                                                          30.0)
    assert act.get(db, "mist-1").state == "on"  # type: ignore[union-attr]
    # Sent but never answered: failed after ANSWER_S, so the controller may try again.
    cid2 = act.queue_command(db, a, "off", "auto", "x", None, NOW)
    db.execute("UPDATE actuator_commands SET sent_at = ? WHERE id = ?", (NOW, cid2))
    assert act.fail_unanswered(db, NOW + act.ANSWER_S + 1) == 1
    assert act.open_commands(db, "mist-1")[0] is False
    db.close()


def test_the_devices_own_state_reports_win_over_old_news(db_url: str) -> None:
    db = connect(db_url)
    migrate(db)
    act.register(db, id="mist-1", gw="gw-01", lat=SPOT[0], lon=SPOT[1], on_wbgt=28, now=NOW)
    st = {"gw": "gw-01", "device": "mist-1", "on": False, "override": True, "rh": 61.5,
          "on_s": 0, "ts": NOW}
    assert act.record_state(db, st, NOW)
    a = act.get(db, "mist-1")
    assert a is not None and (a.state, a.state_at) == ("off", NOW)
    row = db.execute("SELECT override, device_rh FROM actuators").fetchone()
    assert (row[0], row[1]) == (1, 61.5)
    assert not act.record_state(db, {**st, "on": True, "ts": NOW - 60}, NOW)  # older report
    assert not act.record_state(db, {**st, "gw": "gw-02"}, NOW)  # not its gateway
    assert act.record_state(db, {**st, "on": True, "override": False, "on_s": 30,
                                 "ts": NOW + 40}, NOW)
    a = act.get(db, "mist-1")
    assert a is not None and (a.state, a.state_at) == ("on", NOW + 10)  # on since ts - on_s
    db.close()


@pytest.mark.parametrize(("kw", "field"), [
    ({"id": "bad id"}, "id"), ({"gw": "GW 1"}, "gw"), ({"lat": 91.0}, "lat"),
    ({"on_wbgt": 50.0}, "on_wbgt"), ({"off_wbgt": 29.0}, "on_wbgt"), ({"hold_s": 1}, "hold_s"),
])
def test_registration_refuses_bad_values(tmp_path: Path, kw: dict, field: str) -> None:
    db = connect(tmp_path / "c.sqlite")
    migrate(db)
    args: dict[str, object] = {"id": "mist-1", "gw": "gw-01", "lat": SPOT[0], "lon": SPOT[1],
                               "on_wbgt": 28.0, "now": NOW}
    args.update(kw)
    with pytest.raises(act.ActuatorError, match=field):
        act.register(db, **args)  # type: ignore[arg-type]
    db.close()


def test_cli_add_list_and_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from machimori.cli import main

    db = str(tmp_path / "c.sqlite")
    assert main(["collector", "actuator", "add", "--db", db, "--id", "mist-1", "--gw", "gw-01",
                 "--lat", "36.14", "--lon", "139.38", "--on-wbgt", "28"]) == 0
    assert "off below 27.0" in capsys.readouterr().out
    assert main(["collector", "actuator", "add", "--db", db, "--id", "m", "--gw", "gw-01",
                 "--lat", "36.14", "--lon", "139.38", "--on-wbgt", "99"]) == 2
    assert "on_wbgt" in capsys.readouterr().out
    assert main(["collector", "actuator", "list", "--db", db]) == 0
    assert "mist-1\tgw-01\tunknown" in capsys.readouterr().out
    assert main(["collector", "actuator", "log", "--db", db]) == 0


@pytest.fixture
def app(tmp_path: Path):
    db = connect(tmp_path / "c.sqlite")
    migrate(db)
    add_user(db, "admin-user", "correct horse battery", "admin")
    add_user(db, "viewer-user", "correct horse battery", "viewer")
    act.register(db, id="mist-1", gw="gw-01", lat=SPOT[0], lon=SPOT[1], on_wbgt=28,
                 name="駅前ミスト", now=NOW)
    db.close()
    return create_app({"DATABASE": str(tmp_path / "c.sqlite"), "TESTING": True})


def signed_in(app, who: str):
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    c.post("/login", data={"username": f"{who}-user", "password": "correct horse battery",
                           "csrf_token": token})
    # Signing in starts a new session with a new CSRF token: read it from a page.
    page = c.get("/heat").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return c, token


def test_api_state_for_the_map_and_manual_commands(app) -> None:
    anon = app.test_client()
    [a] = anon.get("/api/v1/actuators").get_json()["actuators"]
    assert (a["id"], a["name"], a["state"], a["on_wbgt"]) == ("mist-1", "駅前ミスト", "unknown",
                                                              28.0)
    assert anon.post("/api/v1/actuators/mist-1/command", json={"action": "on"}).status_code \
        in (400, 401)
    viewer, vtok = signed_in(app, "viewer")
    assert viewer.post("/api/v1/actuators/mist-1/command", json={"action": "on"},
                       headers={"X-CSRF-Token": vtok}).status_code == 403
    admin, tok = signed_in(app, "admin")
    h = {"X-CSRF-Token": tok}
    assert admin.post("/api/v1/actuators/mist-1/command", json={"action": "on"}
                      ).status_code == 400  # no CSRF token
    for bad in ({"action": "spray"}, {"action": "on", "hold_s": "600"},
                {"action": "on", "hold_s": 5}, []):
        r = admin.post("/api/v1/actuators/mist-1/command", json=bad, headers=h)
        assert r.status_code == 400 and r.get_json()["message"], bad
    assert admin.post("/api/v1/actuators/nope/command", json={"action": "on"},
                      headers=h).status_code == 404
    r = admin.post("/api/v1/actuators/mist-1/command", json={"action": "on", "hold_s": 600},
                   headers=h)
    assert r.status_code == 202
    [row] = admin.get("/api/v1/actuators/commands").get_json()["commands"]
    assert (row["id"], row["source"], row["action"], row["hold_s"], row["result"]) == (
        r.get_json()["id"], "admin:admin-user", "on", 600, None)
    assert viewer.get("/api/v1/actuators/commands").status_code == 403


def test_responses_match_the_openapi_document(app) -> None:
    from .test_collector import _openapi_validator

    admin, tok = signed_in(app, "admin")
    admin.post("/api/v1/actuators/mist-1/command", json={"action": "off"},
               headers={"X-CSRF-Token": tok})
    for path in ("/api/v1/actuators", "/api/v1/actuators/commands"):
        body = admin.get(path).get_json()
        assert list(_openapi_validator(admin, path, 200).iter_errors(body)) == []
    bad = {"actuators": [{"id": "mist-1", "state": "spraying"}], "time": 1.0}
    assert list(_openapi_validator(admin, "/api/v1/actuators", 200).iter_errors(bad))


def test_worker_step_sends_nothing_offline_and_dead_letters_bad_acks(tmp_path: Path) -> None:
    """The controller step on its own (no broker reachable): a hot spot queues one command,
    and stays quiet while it is open; acks that break the contract are dead-lettered."""
    from collector.actuator_worker import ActuatorWorker

    url = str(tmp_path / "c.sqlite")
    st = Store(url)
    st.ingest([summary(1, device="heat-001", end=NOW, wbgt=30.5)])
    act.register(st.db, id="mist-1", gw="gw-01", lat=SPOT[0], lon=SPOT[1], on_wbgt=28,
                 min_interval_s=0, now=NOW)
    w = ActuatorWorker(url, "mqtt://127.0.0.1:1")  # never started: nothing is sent
    for raw in (b"{not json", json.dumps({"schema": "machimori/ack/1", "id": "x"}).encode()):
        w._acks.put(("machimori/v1/gw/gw-01/ack", raw, 1))
    w._acks.put((*summary(5, end=NOW), 2))  # valid, but not for this worker
    w.step(st.db, NOW)
    w.step(st.db, NOW + 1)
    [row] = act.command_log(st.db)
    assert (row["action"], row["source"], row["why"], row["sent_at"]) == (
        "on", "auto", "WBGT 30.5 >= 28.0", None)
    assert w.counters["bad_acks"] == 3
    reasons = [r[0] for r in st.db.execute("SELECT reason FROM dead_letters ORDER BY id")]
    assert len(reasons) == 3 and "not JSON" in reasons[0]
    assert reasons[1] == 'ack: payload: "gw" is a required property'
    assert reasons[2] == "not an ack or an actuator state"
    st.close()
