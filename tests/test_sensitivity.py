"""The sensitivity table (machimori/contract/sensitivity.py) decides what each role sees, what
leaves to the sinks and how long it is kept — checked through the API, the store and retention."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from collector.app import create_app
from collector.retention import expire_by_sensitivity
from collector.store import Store, connect
from collector.users import add_token
from machimori.contract.sensitivity import (
    SUMMARY_KINDS,
    Sensitivity,
    event_class,
    may_leave,
    summary_class,
    summary_kinds_for,
)

from .test_collector import T, summary


def tag_summary(seq: int, device: str = "tag-001", end: float = T + 60) -> tuple[str, bytes]:
    stat = lambda v: {"mean": v, "min": v, "max": v, "last": v}
    body = {"schema": "machimori/summary/1", "id": f"gw-01:{seq}", "gw": "gw-01", "seq": seq,
            "kind": "presence", "device": device, "start": end - 60, "end": end, "n": 3,
            "values": {"rssi": stat(-70.0), "battery": stat(90.0)},
            "place": {"lat": 36.15, "lon": 139.39, "name": "山田さん宅前"}}
    return "machimori/v1/gw/gw-01/summary/presence", json.dumps(body).encode()


def ev(seq: int, kind: str, ts: float = T + 10) -> tuple[str, bytes]:
    body = {"schema": "machimori/event/1", "id": f"gw-01:{seq}", "gw": "gw-01", "seq": seq,
            "kind": kind, "device": "tag-001" if kind != "sensor_fault" else "heat-001",
            "ts": ts, "priority": 2, "data": {}}
    return f"machimori/v1/gw/gw-01/event/{kind}", json.dumps(body).encode()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    url = str(tmp_path_factory.mktemp("sens") / "t.sqlite")
    st = Store(url)
    st.ingest([summary(1), tag_summary(2), ev(3, "sos"), ev(4, "sensor_fault"),
               ev(5, "wbgt_level")])
    st.close()
    return Path(url)


@pytest.fixture
def tokens(template: Path, tmp_path: Path) -> tuple[object, dict[str, str]]:
    url = tmp_path / "c.sqlite"
    shutil.copyfile(template, url)
    db = connect(str(url))
    toks = {r: add_token(db, f"{r}-tok", r) for r in ("admin", "planner", "responder",
                                                      "viewer", "family")}
    db.close()
    app = create_app({"DATABASE": str(url), "TESTING": True})
    return app.test_client(), toks


def get(client, path: str, token: str):
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_unknown_kinds_count_as_personal() -> None:
    assert summary_class("gps_fix") is Sensitivity.PERSONAL
    assert event_class("a_new_kind") is Sensitivity.PERSONAL
    assert set(SUMMARY_KINDS) >= {"heat", "presence", "meter", "people"}


def test_planner_gets_no_residents_tags_from_the_device_registry(tokens) -> None:
    client, tok = tokens
    items = get(client, "/api/v1/devices", tok["planner"]).get_json()["items"]
    assert [i["id"] for i in items] == ["heat-001"]
    assert "山田さん宅前" not in get(client, "/api/v1/devices", tok["planner"]).get_data(True)
    assert get(client, "/api/v1/devices?kind=presence", tok["planner"]).get_json()["items"] == []
    admin = get(client, "/api/v1/devices", tok["admin"]).get_json()["items"]
    assert {i["id"] for i in admin} == {"heat-001", "tag-001"}


def test_summaries_by_role(tokens) -> None:
    client, tok = tokens
    assert {i["kind"] for i in get(client, "/api/v1/summaries", tok["viewer"]).get_json()[
        "items"]} == {"heat"}
    r = get(client, "/api/v1/summaries?kind=presence", tok["viewer"])
    assert r.status_code == 403 and "personal" in r.get_json()["message"]
    # family members see their own person in the watch pages, not every resident here
    assert get(client, "/api/v1/summaries?kind=presence", tok["family"]).status_code == 403
    kinds = {i["kind"] for i in get(client, "/api/v1/summaries", tok["responder"]).get_json()[
        "items"]}
    assert kinds == {"heat", "presence"}


def test_events_by_role(tokens) -> None:
    client, tok = tokens
    kinds = {i["kind"] for i in get(client, "/api/v1/events", tok["responder"]).get_json()[
        "items"]}
    assert kinds == {"sos", "sensor_fault", "wbgt_level"}
    assert get(client, "/api/v1/events", tok["planner"]).status_code == 403


def test_personal_summaries_never_enter_the_influx_queue(tmp_path: Path) -> None:
    st = Store(str(tmp_path / "q.sqlite"), sinks=("influx",))
    st.ingest([summary(1), tag_summary(2)])
    queued = [p["kind"] for _, p in st.sink_batch("influx", 10)]
    assert queued == ["heat"]
    assert may_leave("heat", "ngsi") and not may_leave("presence", "ngsi")
    assert not may_leave("meter", "influx")
    st.close()


def test_retention_follows_the_class(db_url: str) -> None:
    st = Store(db_url)
    old = T - 200 * 86400
    st.ingest([summary(1, end=old), tag_summary(2, end=old), tag_summary(3, end=T),
               ev(4, "sos", ts=old), ev(5, "wbgt_level", ts=old)])
    for resolved in (old, T - 86400):
        st.db.execute("INSERT INTO watch_alerts (subject, cause, severity, state, opened_at, "
                      "updated_at, last_event_at, events, step, resolved_at) VALUES "
                      "('person:p1', 'sos', 3, 'resolved', ?, ?, ?, 1, 0, ?)",
                      (resolved, resolved, resolved, resolved))
    gone = expire_by_sensitivity(st.db, T)
    assert gone == {"summaries": 1, "summaries_hourly": 0, "events": 1, "watch_alerts": 1}
    assert st.db.execute("SELECT resolved_at FROM watch_alerts").fetchall()[0][0] == T - 86400
    left = sorted(tuple(r) for r in st.db.execute(
        "SELECT kind, device FROM summaries ORDER BY id").fetchall())
    assert left == [("heat", "heat-001"), ("presence", "tag-001")]
    assert [r[0] for r in st.db.execute("SELECT kind FROM events").fetchall()] == ["wbgt_level"]
    assert "presence" in summary_kinds_for("responder")
    st.close()
