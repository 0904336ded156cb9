"""Offboarding: disabling, role changes, password resets and sign-out end sessions on the server,
and API tokens can be listed and revoked — from the admin page and from the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collector.app import create_app
from collector.store import connect
from collector.users import UserError, add_user

from .test_auth import PASSWORD, csrf, login, template_db  # noqa: F401 (fixture)


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:  # noqa: F811
    path = tmp_path / "c.sqlite"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def app(db_path: Path):
    return create_app({"DATABASE": str(db_path), "TESTING": True})


def signed_in(client) -> bool:
    return client.get("/api/v1/summaries").status_code == 200


def cookie(client) -> str:
    c = client.get_cookie("session")
    assert c is not None
    return c.value


def admin_post(app, **form: str):
    c = app.test_client()
    login(c, "admin")
    return c.post("/admin/users", data={**form, "csrf_token": csrf(c)})


def test_a_session_cookie_replayed_after_logout_is_refused(app) -> None:
    c = app.test_client()
    login(c, "viewer")
    assert signed_in(c)
    stolen = cookie(c)
    c.post("/logout", data={"csrf_token": csrf(c)})
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    # The cookie is still validly signed, but its session ended on the server.
    assert not signed_in(replay)


@pytest.mark.parametrize("action, extra", [
    ("disable", {}), ("role", {"role": "planner"}), ("password", {"password": "new password 123"}),
    ("logout", {}),
])
def test_admin_changes_end_the_users_sessions(app, action: str, extra: dict[str, str]) -> None:
    victim = app.test_client()
    login(victim, "viewer")
    assert signed_in(victim)
    r = admin_post(app, action=action, username="viewer-user", **extra)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert not signed_in(victim)
    again = app.test_client()
    if action == "disable":
        assert login(again, "viewer").status_code == 401
    elif action == "password":
        assert login(again, "viewer").status_code == 401
        r = again.post("/login", data={"username": "viewer-user", "password": "new password 123",
                                       "csrf_token": csrf(again)})
        assert r.status_code == 302 and signed_in(again)
    else:
        assert login(again, "viewer").status_code == 302 and signed_in(again)


def test_enable_restores_access_and_admins_cannot_lock_themselves_out(app) -> None:
    admin_post(app, action="disable", username="viewer-user")
    admin_post(app, action="enable", username="viewer-user")
    assert login(app.test_client(), "viewer").status_code == 302
    r = admin_post(app, action="disable", username="admin-user")
    assert r.status_code == 400
    assert login(app.test_client(), "admin").status_code == 302


def test_bad_admin_input_is_refused_with_a_message(app) -> None:
    assert admin_post(app, action="role", username="viewer-user", role="device").status_code == 400
    assert admin_post(app, action="role", username="nobody", role="viewer").status_code == 400
    assert admin_post(app, action="password", username="viewer-user",
                      password="short").status_code == 400
    r = admin_post(app, action="<script>alert(1)</script>", username="viewer-user")
    assert r.status_code == 400 and "<script>" not in r.get_data(as_text=True)
    assert login(app.test_client(), "viewer").status_code == 302  # nothing changed


def test_revoking_a_token_from_the_admin_page_stops_it(app, db_path: Path) -> None:
    from collector.users import add_token

    db = connect(db_path)
    token = add_token(db, "grafana", "viewer")
    tid = db.execute("SELECT id FROM api_tokens WHERE name = 'grafana'").fetchone()[0]
    db.close()
    c = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert c.get("/api/v1/summaries", headers=bearer).status_code == 200
    page = admin_post(app, action="revoke", token_id=str(tid)).get_data(as_text=True)
    assert "grafana" in page and token not in page
    assert c.get("/api/v1/summaries", headers=bearer).status_code == 401


def test_sessions_survive_a_restart_of_the_web_app(db_path: Path) -> None:
    first = create_app({"DATABASE": str(db_path), "TESTING": True})
    c = first.test_client()
    login(c, "viewer")
    kept = cookie(c)
    second = create_app({"DATABASE": str(db_path), "TESTING": True})  # a restarted server
    c2 = second.test_client()
    c2.set_cookie("session", kept)
    assert signed_in(c2)


def test_device_is_a_token_role_not_a_person_role(db_path: Path) -> None:
    db = connect(db_path)
    with pytest.raises(UserError, match="API tokens"):
        add_user(db, "phone-user", PASSWORD, "device")
    db.close()


def cli(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "machimori.cli", "collector", *args,
                           "--db", str(db)], check=False, input=stdin, capture_output=True, text=True,
                          timeout=60)


def test_offboarding_from_the_command_line(app, db_path: Path) -> None:
    c = app.test_client()
    login(c, "responder")
    assert cli(db_path, "user", "disable", "--username", "responder-user").returncode == 0
    assert not signed_in(c)
    assert "disabled" in cli(db_path, "user", "list").stdout
    r = cli(db_path, "user", "role", "--username", "planner-user", "--role", "viewer")
    assert r.returncode == 0
    r = cli(db_path, "user", "passwd", "--username", "planner-user", "--password-stdin",
            stdin="brand new password\n")
    assert r.returncode == 0
    assert login(app.test_client(), "planner").status_code == 401
    r = cli(db_path, "user", "role", "--username", "nobody", "--role", "viewer")
    assert r.returncode == 2 and "no user" in r.stderr
    made = cli(db_path, "token", "add", "--name", "phone-1", "--role", "device")
    assert made.returncode == 0 and made.stdout.startswith("mm_")
    listed = cli(db_path, "token", "list").stdout
    line = next(ln for ln in listed.splitlines() if "phone-1" in ln)
    assert "device" in line and "active" in line and made.stdout.strip() not in listed
    tid = line.split("\t")[0]
    assert cli(db_path, "token", "revoke", "--id", tid).returncode == 0
    assert "revoked" in next(ln for ln in cli(db_path, "token", "list").stdout.splitlines()
                             if "phone-1" in ln)
    assert cli(db_path, "token", "revoke", "--id", "99999").returncode == 2
