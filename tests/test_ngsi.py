"""NGSI-LD export: entities from the store, the GET endpoint, and the push command against a local
HTTP server that records each request as a context broker (Orion-LD) would receive it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from collector.app import create_app
from collector.ngsi import CORE_CONTEXT, SDM_CONTEXT, Pusher, entities, latest_rows
from collector.store import Store, connect

T = 1_785_715_260.0  # 2026-08-03T00:01:00Z
STAT = lambda v: {"mean": v, "min": v - 1, "max": v + 1, "last": v + 0.5}


def summary(seq: int, device: str, end: float = T, **extra: Any) -> tuple[str, bytes]:
    body = {"schema": "machimori/summary/1", "id": f"gw-01:{seq}", "gw": "gw-01", "seq": seq,
            "kind": "heat", "device": device, "start": end - 60, "end": end, "n": 6,
            "values": {"air_c": STAT(31.0), "humidity": STAT(60.0), "illuminance": STAT(52000.0),
                       "surface_c": STAT(44.0), "battery": STAT(90.0), "wbgt_c": STAT(28.4)},
            "place": {"lat": 36.1473, "lon": 139.3886, "name": "駅前"}, "wbgt_level": 3, **extra}
    return "machimori/v1/gw/gw-01/summary/heat", json.dumps(body, ensure_ascii=False).encode()


@pytest.fixture
def db(tmp_path: Path) -> str:
    st = Store(tmp_path / "c.sqlite")
    tag = json.loads(summary(3, "tag-001")[1])
    tag.update(kind="presence", values={"rssi": STAT(-70.0)})
    del tag["wbgt_level"]
    st.ingest([summary(1, "heat-001"), summary(2, "heat-002"),
               ("machimori/v1/gw/gw-01/summary/presence", json.dumps(tag).encode())])
    st.close()
    return str(tmp_path / "c.sqlite")


def rows(db: str) -> list[dict[str, Any]]:
    con = connect(db, readonly=True)
    try:
        return latest_rows(con)
    finally:
        con.close()


def test_weather_observed_and_device_entities_normalized(db: str) -> None:
    wo, dev = entities(rows(db))[:2]
    at = "2026-08-03T00:01:00.000Z"
    assert wo == {
        "@context": [SDM_CONTEXT, CORE_CONTEXT],
        "id": "urn:ngsi-ld:WeatherObserved:machimori:heat-001", "type": "WeatherObserved",
        "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": at}},
        "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:machimori:heat-001"},
        "dataProvider": {"type": "Property", "value": "machimori"},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [139.3886, 36.1473]}},
        "name": {"type": "Property", "value": "駅前"},
        "temperature": {"type": "Property", "value": 31.5, "unitCode": "CEL", "observedAt": at},
        "relativeHumidity": {"type": "Property", "value": 0.605, "unitCode": "C62",
                             "observedAt": at},
        "illuminance": {"type": "Property", "value": 52000.5, "unitCode": "LUX",
                        "observedAt": at},
        "wbgt": {"type": "Property", "value": 28.4, "unitCode": "CEL", "observedAt": at},
        "wbgtLevel": {"type": "Property", "value": 3, "observedAt": at},
        "surfaceTemperature": {"type": "Property", "value": 44.5, "unitCode": "CEL",
                               "observedAt": at},
    }
    assert dev == {
        "@context": [SDM_CONTEXT, CORE_CONTEXT],
        "id": "urn:ngsi-ld:Device:machimori:heat-001", "type": "Device",
        "category": {"type": "Property", "value": ["sensor"]},
        "controlledProperty": {"type": "Property", "value": ["temperature", "humidity", "light"]},
        "dateLastValueReported": {"type": "Property",
                                  "value": {"@type": "DateTime", "@value": at}},
        "source": {"type": "Property", "value": "gw-01"},
        "location": wo["location"], "name": wo["name"],
        "batteryLevel": {"type": "Property", "value": 0.905, "unitCode": "C62"},
    }


def test_only_heat_sensors_leave_the_collector(db: str) -> None:
    ids = [e["id"] for e in entities(rows(db))]
    assert ids == [f"urn:ngsi-ld:{t}:machimori:heat-00{n}" for n in (1, 2)
                   for t in ("WeatherObserved", "Device")]  # the presence tag is personal


def test_get_endpoint_ld_json_and_link_header(db: str) -> None:
    client = create_app({"DATABASE": db, "TESTING": True}).test_client()
    r = client.get("/api/v1/ngsi-ld/entities?type=WeatherObserved",
                   headers={"Accept": "application/ld+json"})
    assert r.status_code == 200 and r.mimetype == "application/ld+json"
    body = r.get_json(force=True)
    assert [e["type"] for e in body] == ["WeatherObserved", "WeatherObserved"]
    assert all(e["@context"] == [SDM_CONTEXT, CORE_CONTEXT] for e in body)

    r = client.get("/api/v1/ngsi-ld/entities?type=Device")
    assert r.mimetype == "application/json"
    assert SDM_CONTEXT in r.headers["Link"] and 'rel="http://www.w3.org/ns/json-ld#context"' \
        in r.headers["Link"]
    body = r.get_json()
    assert [e["id"] for e in body] == ["urn:ngsi-ld:Device:machimori:heat-001",
                                       "urn:ngsi-ld:Device:machimori:heat-002"]
    assert all("@context" not in e for e in body)
    assert len(client.get("/api/v1/ngsi-ld/entities").get_json()) == 4
    assert client.get("/api/v1/ngsi-ld/entities?type=Building").get_json() == []
    r = client.get("/api/v1/ngsi-ld/entities?type=,")
    assert r.status_code == 400 and "type" in r.get_json()["title"]


class Recorder(ThreadingHTTPServer):
    """Records requests as a broker gets them; answers like Orion-LD's batch upsert."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.replies: list[tuple[int, bytes]] = []  # scripted answers, then 201

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append({"method": "POST", "path": self.path,
                                     # HTTP header names are case-insensitive (urllib sends "Ngsild-tenant").
                                     "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": body})
        status, reply = self.server.replies.pop(0) if self.server.replies else (201, b"")
        self.send_response(status)
        self.send_header("Content-Length", str(len(reply)))
        if reply:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def broker() -> Iterator[Recorder]:
    srv = Recorder()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_push_once_posts_a_batch_upsert(db: str, broker: Recorder) -> None:
    r = subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "ngsi-push", "--db",
                        db, "--url", broker.url + "/", "--once", "--tenant", "town"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert len(broker.requests) == 1
    req = broker.requests[0]
    assert (req["method"], req["path"]) == (
        "POST", "/ngsi-ld/v1/entityOperations/upsert?options=update")
    assert req["headers"]["content-type"] == "application/ld+json"
    assert req["headers"]["ngsild-tenant"] == "town"
    assert json.loads(req["body"]) == entities(rows(db))
    assert "upserted 4 entities" in r.stderr


def test_push_sends_only_what_changed_and_retries_failures(db: str, broker: Recorder) -> None:
    p = Pusher(db, broker.url)
    # Orion-LD's 207: heat-002's WeatherObserved refused, so heat-002 is due again.
    broker.replies.append((207, json.dumps({
        "success": ["urn:ngsi-ld:WeatherObserved:machimori:heat-001"],
        "errors": [{"entityId": "urn:ngsi-ld:WeatherObserved:machimori:heat-002",
                    "error": {"status": 400, "title": "Bad Request"}}]}).encode()))
    assert p.push_once() == 2
    assert p.push_once() == 2
    assert [e["id"] for e in json.loads(broker.requests[1]["body"])] == [
        "urn:ngsi-ld:WeatherObserved:machimori:heat-002", "urn:ngsi-ld:Device:machimori:heat-002"]
    assert p.push_once() == 0 and len(broker.requests) == 2  # nothing new: nothing sent

    st = Store(db)
    st.ingest([summary(9, "heat-001", end=T + 60)])
    st.close()
    broker.replies.append((503, b'{"title": "busy"}'))
    with pytest.raises(OSError, match="HTTP 503"):
        p.push_once()
    assert p.push_once() == 2  # the failed round's sensor goes in the next one
    sent = json.loads(broker.requests[-1]["body"])
    assert sent[0]["dateObserved"]["value"]["@value"] == "2026-08-03T00:02:00.000Z"


def test_push_rejects_a_bad_url(db: str) -> None:
    r = subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "ngsi-push", "--db",
                        db, "--url", "orion:1026", "--once"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2 and "expected the broker's base URL" in r.stderr
