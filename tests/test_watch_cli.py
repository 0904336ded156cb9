"""`machimori collector watch ...` as an admin types it: people and responders sealed, a policy
the engine then follows, key rotation, erasure — and clear errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from collector.store import connect
from collector.watch import crypto
from collector.watch.engine import Settings
from collector.watch.people import open_person
from collector.watch.state import load


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "watch", *args],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, **(env or {})})


def test_watch_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    ok = run("person", "--db", db, "--id", "person-003", "--name", "山田 花子", "--household",
             "h-003", "--address", "青梅市本町1-2-3", "--phone", "090-1234-5678")
    assert ok.returncode == 0, ok.stderr
    assert run("link", "--db", db, "--device", "tag-003", "--kind", "tag", "--person",
               "person-003").returncode == 0
    r = run("responder", "--db", db, "--name", "山田 太郎", "--tier", "1", "--org", "family",
            "--phone", "080-1111-2222", "--duty", "mon-fri 08:30-17:15")
    assert r.returncode == 0 and r.stdout.strip() == "responder 1"
    assert run("assign", "--db", db, "--person", "person-003", "--responder", "1").returncode == 0
    assert run("consent", "--db", db, "--person", "person-003", "--given-by", "本人", "--scope",
               "tag,notify").returncode == 0
    r = run("policy", "--db", db, "--severity", "3", "--steps", "1:60,4:120", "--renotify", "600")
    assert r.returncode == 0 and "tier 4 (120 s)" in r.stdout
    con = connect(db)
    eng = load(con, Settings(), 0.0)
    assert [(s.tier, s.wait_s) for s in eng.policies[3].steps] == [(1, 60.0), (4, 120.0)]
    assert "山田" not in str([tuple(x) for x in con.execute("SELECT * FROM watch_persons")])
    con.close()
    # bad input: a clear message and exit status 2, nothing half written
    for args, why in ((("person", "--id", "p 1", "--name", "x"), "person id"),
                      (("person", "--id", "p2", "--name", "x", "--phone", "12"), "phone"),
                      (("responder", "--name", "x", "--tier", "2", "--org", "minsei", "--duty",
                        "always"), "duty"),
                      (("policy", "--severity", "2", "--steps", "1-60", "--renotify", "9"),
                       "--steps")):
        bad = run(args[0], "--db", db, *args[1:])
        assert bad.returncode == 2 and why in bad.stderr, (args, bad.stderr)
    # key rotation: a new key first, rekey, the old key removed: still readable
    key_file = Path(db + ".watch-key")
    old = key_file.read_text()
    key_file.write_text(crypto.new_key_line("k2") + old)
    r = run("rekey", "--db", db)
    assert r.returncode == 0 and "under k2" in r.stdout
    key_file.write_text(key_file.read_text().splitlines()[0] + "\n")  # only k2 left
    con = connect(db)
    keys = crypto.load(key_file, db)
    assert open_person(con, keys, "person-003", "root", "admin", 1.0)["name"] == "山田 花子"
    con.close()
    r = run("withdraw", "--db", db, "--person", "person-003")
    assert r.returncode == 0 and "watch_persons" in r.stdout
