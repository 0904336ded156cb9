"""Sign-in, roles, CSRF, rate limiting and API tokens — and the authorization matrix:
every endpoint of the app is either public or tested here for every role."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collector.app import create_app
from collector.store import Store, connect
from collector.users import PEOPLE_ROLES, add_token, add_user

from .test_collector import T, summary

PASSWORD = "correct horse battery"
PUBLIC = {"/", "/heat", "/login", "/api/v1/health", "/api/v1/sensors", "/api/v1/heat/trend",
          "/api/v1/basemap", "/api/v1/openapi.json", "/static/<path:filename>",
          "/api/v1/ngsi-ld/entities", "/api/v1/people/trend",
          "/stamps", "/stamp/<token>", "/api/v1/actuators",
          "/watch/manifest.webmanifest", "/watch/sw.js", "/watch/app.js", "/watch/icon.svg",
          "/residents", "/residents/manifest.webmanifest", "/residents-sw.js", "/heat/levels.css",
          "/api/v1/heat/levels", "/api/v1/heat/at", "/api/v1/heat/times",
          "/api/v1/heat/sensors/<device>/series",
          "/resources", "/resources/posts", "/api/v1/resources",  # the public catalogue
          "/resources/<int:rid>", "/resources/photos/<int:pid>"}  # 404 unless public+reviewed
# Heat geography (collector/coolspots): public like /sensors. The last three need a street graph
# or parameters; they are called anonymously in tests/test_heat_api.py.
PUBLIC |= {"/api/v1/coolspots", "/api/v1/heat/alerts", "/api/v1/route", "/api/v1/shade",
           "/api/v1/shade/compare"}
PUBLIC_WITH_SETUP = {"/api/v1/route", "/api/v1/shade", "/api/v1/shade/compare"}
# GET endpoint -> roles allowed (the rest get 403; anonymous 401 for the API, a redirect to
# the login page for pages).
MATRIX = {
    "/api/v1/summaries": set(PEOPLE_ROLES),
    "/api/v1/summaries?kind=meter": {"admin", "responder"},
    "/api/v1/summaries/hourly": set(PEOPLE_ROLES),
    "/api/v1/summaries/hourly?kind=presence": {"admin", "responder"},
    "/api/v1/events": {"admin", "responder"},
    "/api/v1/gateways": {"admin", "planner"},
    "/api/v1/devices": {"admin", "planner"},
    "/api/v1/dead-letters": {"admin"},
    "/metrics": {"admin"},
    "/admin/": {"admin"},
    "/admin/gateways": {"admin"},
    "/admin/devices": {"admin"},
    "/admin/users": {"admin"},
    "/admin/phones": {"admin"},
    "/heat/impact": {"admin", "planner"},
    "/shop": {"admin", "shop"},
    "/api/v1/impact?treated=gw-01&control=gw-02&start=1700000000&since=1690000000"
    "&until=1710000000": {"admin", "planner"},
    "/api/v1/watch/alerts": {"admin", "responder", "family"},
    "/api/v1/watch/push": {"admin", "responder", "family"},
    "/watch/": {"admin", "responder", "family"},
    "/api/v1/coolspots/tasks": {"admin", "planner"},
    "/admin/coolspots/": {"admin", "planner"},
    "/resources/suggest": set(PEOPLE_ROLES),
    "/resources/posts/new": set(PEOPLE_ROLES),
    "/resources/mine": set(PEOPLE_ROLES),
    "/resources/admin": {"admin", "planner"},
    "/api/v1/actuators/commands": {"admin", "planner"},
}
POST_ONLY = {"/logout", "/api/v1/owntracks", "/stamps/code", "/watch/sms",
             "/api/v1/watch/alerts/<int:alert_id>/<action>", "/api/v1/watch/silences",
             "/api/v1/coolspots/tasks/<int:task_id>/done",
             "/admin/coolspots/tasks/<int:task_id>/done",
             "/resources/matches/<int:mid>/answer", "/resources/admin/review",
             "/resources/admin/project", "/resources/admin/resource",
             "/resources/<int:rid>/photos", "/api/v1/actuators/<aid>/command"}
DEVICE_TOKEN = "mm_device-token-for-the-matrix"  # a phone's token (role device): API only
# Reached without signing in, the signed link being the authority (tests/test_watch_notify.py).
SIGNED = {"/watch/a/<token>"}
# Per-person rules (assigned responders and family only): tests/test_watch_app.py.
PER_PERSON = {"/api/v1/watch/persons/<pid>"}


def event(seq: int) -> tuple[str, bytes]:
    body = {"schema": "machimori/event/1", "id": f"gw-01:{seq}", "gw": "gw-01", "seq": seq,
            "kind": "sos", "device": "tag-001", "ts": T + seq, "priority": 3,
            "data": {"person": "person-001"}}
    return "machimori/v1/gw/gw-01/event/sos", json.dumps(body).encode()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: password hashing is deliberately slow."""
    url = str(tmp_path_factory.mktemp("auth") / "template.sqlite")
    st = Store(url)
    st.ingest([summary(1), summary(2, device="heat-002"), event(3), event(4)])
    st.ingest([("machimori/v1/gw/gw-01/status", json.dumps({
        "schema": "machimori/status/1", "gw": "gw-01", "state": "online", "ts": T,
        "outbox_depth": 4}).encode())])
    for role in PEOPLE_ROLES:
        add_user(st.db, f"{role}-user", PASSWORD, role)
    st.db.execute("INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES "
                  "('phone', ?, 'device', 0)", (hashlib.sha256(DEVICE_TOKEN.encode()).hexdigest(),))
    st.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    st.close()
    return Path(url)


@pytest.fixture
def app(template_db: Path, tmp_path: Path):
    url = tmp_path / "c.sqlite"
    shutil.copyfile(template_db, url)
    return create_app({"DATABASE": str(url), "TESTING": True})


def csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, role: str, password: str = PASSWORD):
    return client.post("/login", data={"username": f"{role}-user", "password": password,
                                       "csrf_token": csrf(client)})


def test_every_endpoint_is_public_or_in_the_matrix(app) -> None:
    rules = {r.rule for r in app.url_map.iter_rules()}
    covered = PUBLIC | POST_ONLY | SIGNED | PER_PERSON | {p.split("?")[0] for p in MATRIX}
    assert rules - covered == set(), "add new endpoints to PUBLIC or MATRIX"


@pytest.mark.parametrize("path", sorted(p for p in PUBLIC - PUBLIC_WITH_SETUP
                                         if "<" not in p and p != "/"))
def test_public_endpoints_need_no_sign_in(app, path: str) -> None:
    assert app.test_client().get(path).status_code == 200


@pytest.mark.parametrize("who", [*PEOPLE_ROLES, "device", "anonymous"])
@pytest.mark.parametrize("path", sorted(MATRIX))
def test_authorization_matrix(app, path: str, who: str) -> None:
    client = app.test_client()
    headers = {}
    if who == "device":
        headers = {"Authorization": f"Bearer {DEVICE_TOKEN}"}
    elif who != "anonymous":
        assert login(client, who).status_code == 302
    r = client.get(path, headers=headers)
    if who in MATRIX[path]:
        assert r.status_code == 200, (path, who)
    elif who == "anonymous":
        if path.startswith(("/api/", "/metrics")):
            assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        else:
            assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    else:
        assert r.status_code == 403, (path, who)


def test_viewer_sees_heat_summaries_but_no_watch_data(app) -> None:
    c = app.test_client()
    login(c, "viewer")
    items = c.get("/api/v1/summaries").get_json()["items"]
    assert items and {i["kind"] for i in items} == {"heat"}


def test_csrf_is_required_for_form_posts(app) -> None:
    c = app.test_client()
    assert c.post("/login", data={"username": "admin-user", "password": PASSWORD}
                  ).status_code == 400  # no token: even signing in is refused
    login(c, "admin")
    form = {"username": "new-planner", "password": "a long password", "role": "planner"}
    assert c.post("/admin/users", data=form).status_code == 400
    assert c.post("/admin/users", data={**form, "csrf_token": "forged"}).status_code == 400
    page = c.get("/admin/users").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/admin/users", data={**form, "csrf_token": token})
    assert r.status_code == 200 and "new-planner" in r.get_data(as_text=True)
    bad = c.post("/admin/users", data={**form, "username": "x", "csrf_token": token})
    assert bad.status_code == 400 and "user name" in bad.get_data(as_text=True)
    assert c.post("/logout").status_code == 400
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert c.get("/admin/users").status_code == 302  # signed out


def test_login_rate_limit(app) -> None:
    c = app.test_client()
    for _ in range(5):
        assert login(c, "planner", "wrong password!").status_code == 401
    r = login(c, "planner")  # the right password, but too late
    assert r.status_code == 429 and r.headers["Retry-After"]
    assert "分後" in r.get_data(as_text=True)
    assert login(app.test_client(), "viewer").status_code == 302  # other users unaffected


def test_login_never_redirects_off_site(app) -> None:
    c = app.test_client()
    r = c.post("/login?next=//evil.example/x", data={
        "username": "admin-user", "password": PASSWORD, "csrf_token": csrf(c)})
    assert r.headers["Location"] == "/heat"
    c2 = app.test_client()
    r = c2.post("/login?next=/admin/users", data={
        "username": "admin-user", "password": PASSWORD, "csrf_token": csrf(c2)})
    assert r.headers["Location"] == "/admin/users"


def test_api_tokens(app) -> None:
    db = connect(app.config["DATABASE"])
    admin, viewer = add_token(db, "prometheus", "admin"), add_token(db, "dash", "viewer")
    stored = [r[0] for r in db.execute("SELECT token_hash FROM api_tokens").fetchall()]
    db.close()
    assert admin not in stored and all(len(h) == 64 for h in stored)  # only hashes are kept
    c = app.test_client()
    r = c.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert 'machimori_gateway_outbox_depth{gw="gw-01"} 4' in text
    assert 'machimori_summaries{kind="heat"} 2' in text
    assert c.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
    r = c.get("/api/v1/events", headers={"Authorization": "Bearer mm_nonsense"})
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_pagination_and_filters(app) -> None:
    c = app.test_client()
    login(c, "responder")
    first = c.get("/api/v1/events?limit=1").get_json()
    second = c.get(f"/api/v1/events?limit=1&cursor={first['next']}").get_json()
    assert [e["id"] for e in first["items"] + second["items"]] == ["gw-01:3", "gw-01:4"]
    assert second["next"] is None
    assert c.get("/api/v1/events?cursor=garbage").status_code == 400
    assert c.get("/api/v1/events?limit=0").status_code == 400
    inside = c.get("/api/v1/summaries?bbox=139.0,36.0,140.0,37.0").get_json()["items"]
    outside = c.get("/api/v1/summaries?bbox=135.0,34.0,135.5,34.5").get_json()["items"]
    assert len(inside) == 2 and outside == []
    assert c.get("/api/v1/summaries?bbox=1,2,3").status_code == 400
    only = c.get("/api/v1/summaries?device=heat-002").get_json()["items"]
    assert [s["device"] for s in only] == ["heat-002"]


def test_user_add_cli_and_bad_role(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    cmd = [sys.executable, "-m", "machimori.cli", "collector", "user", "add", "--db", db,
           "--username", "yamada", "--password-stdin"]
    ok = subprocess.run([*cmd, "--role", "responder"], input=PASSWORD + "\n", text=True,
                        capture_output=True, check=False, timeout=60)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*cmd, "--role", "boss"], input=PASSWORD + "\n", text=True,
                         capture_output=True, check=False, timeout=60)
    assert bad.returncode == 2 and "role must be one of" in bad.stderr
    out = subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "user", "list",
                          "--db", db], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "yamada\tresponder"


@pytest.mark.parametrize("url, path", [
    ("/api/v1/summaries", "/api/v1/summaries"), ("/api/v1/summaries?kind=meter&limit=1",
                                                 "/api/v1/summaries"),
    ("/api/v1/events?limit=1", "/api/v1/events"), ("/api/v1/gateways", "/api/v1/gateways"),
    ("/api/v1/summaries/hourly", "/api/v1/summaries/hourly"),
    ("/api/v1/devices", "/api/v1/devices"), ("/api/v1/dead-letters", "/api/v1/dead-letters"),
    ("/api/v1/watch/alerts", "/api/v1/watch/alerts"),
])
def test_data_api_matches_the_openapi_document(app, url: str, path: str) -> None:
    import jsonschema

    db = connect(app.config["DATABASE"])
    token = add_token(db, "check", "admin")
    db.close()
    c = app.test_client()
    doc = c.get("/api/v1/openapi.json").get_json()
    r = c.get(url, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    v = jsonschema.Draft202012Validator({**schema["schema"], "components": doc["components"]})
    assert list(v.iter_errors(r.get_json())) == []
    for code in ("401", "403"):
        assert code in doc["paths"][path]["get"]["responses"]


@pytest.mark.parametrize("who", [*PEOPLE_ROLES, "anonymous"])
def test_resource_moderation_posts_are_for_planners(app, who: str) -> None:
    c = app.test_client()
    if who != "anonymous":
        login(c, who)
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/resources/admin/review", data={"csrf_token": token, "what": "post",
                                                 "id": "1", "decision": "approve"})
    if who in ("admin", "planner"):
        assert r.status_code == 200
    elif who == "anonymous":
        assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    else:
        assert r.status_code == 403
