"""Real servers and processes for the tests: Mosquitto, the collector, gateways.

Every server listens on a free loopback port, is started by the test that needs it, and is
stopped by it. Waiting is always on a condition with a deadline (machimori.procs.wait_for).
"""

from __future__ import annotations

import getpass
import json
import shutil
import sqlite3
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from machimori.procs import free_port, port_open, spawn, stop, wait_for

REPO = Path(__file__).resolve().parents[1]


def mosquitto_binary() -> str:
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and Path(cand).exists():
            return cand
    raise RuntimeError("mosquitto is not installed: run ./bin/test (as root it installs it)")


class Managed:
    """A server or daemon this harness started: SIGKILL it, or stop it (SIGTERM, then wait)."""

    proc: subprocess.Popen | None = None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


class Mosquitto(Managed):
    """A real Mosquitto on a free loopback port, with persistence so a restart keeps sessions.

    With `tls` (tests/certs.py: CA, broker certificate and key) it also listens with TLS on a
    second free port (`tls_url`); `require_certificate` makes clients present one.
    """

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "",
                 anonymous: bool = True, tls: Any = None, require_certificate: bool = False):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.tls_port = free_port() if tls is not None else None
        tls_conf = "" if tls is None else (
            f"listener {self.tls_port} 127.0.0.1\ncafile {tls.ca}\ncertfile {tls.broker_cert}\n"
            f"keyfile {tls.broker_key}\ntls_version tlsv1.2\n"
            f"require_certificate {'true' if require_certificate else 'false'}\n")
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 1000000\n"
            f"user {getpass.getuser()}\n"
            f"log_dest file {self.dir}/mosquitto.log\n" + tls_conf + extra_conf)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        assert self.tls_port is not None, "started without tls="
        return f"mqtts://127.0.0.1:{self.tls_port}"

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen([mosquitto_binary(), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: (port_open(self.port) and (self.tls_port is None
                                                     or port_open(self.tls_port)))
                 or self.proc.poll() is not None, 15, "mosquitto to listen")
        if self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {(self.dir / 'mosquitto.log').read_text()}")
        return self

    def stop(self) -> None:
        super().stop()  # SIGTERM: mosquitto saves its persistence file on the way out
        wait_for(lambda: not port_open(self.port), 10, "mosquitto to close its port")


class Collector(Managed):
    def __init__(self, workdir: Path, mqtt_url: str, client_id: str = "test-collector",
                 db: str | None = None, extra_args: tuple[str, ...] = ()):
        self.dir = workdir
        self.db = db or str(workdir / "collector.sqlite")
        self.mqtt_url = mqtt_url
        self.client_id = client_id
        self.extra_args = tuple(extra_args)  # more `collector run` options (--influx-url, ...)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Collector:
        self.proc = spawn(["-m", "machimori.cli", "collector", "run", "--db", str(self.db),
                           "--mqtt", self.mqtt_url, "--port", str(self.port), "--client-id",
                           self.client_id, *self.extra_args], self.dir / "collector.log")
        wait_for(self._healthy, 60, "the collector's web server")
        return self

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError("collector exited:\n" + (self.dir / "collector.log").read_text())
        try:
            return self.get("/api/v1/health")["status"] == "ok"
        except OSError:
            return False

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=5) as r:
            return json.loads(r.read())

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        from collector.db import Database

        con = Database(self.db, readonly=True)
        try:
            return [tuple(r) for r in con.execute(sql, args).fetchall()]
        finally:
            con.close()

    def stored_seqs(self, gw: str) -> list[int]:
        rows = self.query("SELECT seq FROM summaries WHERE gw=? UNION ALL "
                          "SELECT seq FROM events WHERE gw=?", (gw, gw))
        return sorted(r[0] for r in rows)


class VictoriaMetrics(Managed):
    """A real VictoriaMetrics (Debian `victoria-metrics`): it accepts the InfluxDB v2 write API.

    Deduplication is on (-dedup.minScrapeInterval=1ms) so a point written twice, as a sink may
    after a lost answer, reads back once, as it does from InfluxDB.
    """

    def __init__(self, workdir: Path, port: int | None = None):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VictoriaMetrics:
        binary = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
        if not Path(binary).exists():
            raise RuntimeError("victoria-metrics is not installed: run ./bin/test as root")
        log = open(self.dir / "victoria-metrics.log", "ab")  # noqa: SIM115 - the child's
        self.proc = subprocess.Popen(
            [binary, f"-storageDataPath={self.dir / 'data'}",
             f"-httpListenAddr=127.0.0.1:{self.port}", "-retentionPeriod=100y",
             "-search.latencyOffset=0s", "-dedup.minScrapeInterval=1ms"],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, 30,
                 "victoria-metrics to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("victoria-metrics exited: "
                               + (self.dir / "victoria-metrics.log").read_text())
        return self

    def kill(self) -> None:
        super().kill()
        wait_for(lambda: not port_open(self.port), 10, "victoria-metrics to close its port")

    def export(self, metric: str) -> dict[tuple[tuple[str, str], ...], dict[int, float]]:
        """Every series of `metric`: {sorted labels: {timestamp ms: value}}."""
        from urllib.parse import quote

        # Fresh points sit in memory for up to a second; this makes them searchable now.
        with urllib.request.urlopen(self.url + "/internal/force_flush", timeout=10) as r:
            r.read()
        query = quote('{__name__="' + metric + '"}')
        with urllib.request.urlopen(f"{self.url}/api/v1/export?match[]={query}",
                                    timeout=10) as r:
            lines = r.read().decode().splitlines()
        out: dict[tuple[tuple[str, str], ...], dict[int, float]] = {}
        for line in lines:
            item = json.loads(line)
            labels = tuple(sorted((k, v) for k, v in item["metric"].items() if k != "__name__"))
            series = out.setdefault(labels, {})
            series.update(zip(item["timestamps"], item["values"], strict=True))
        return out


class Gateway(Managed):
    def __init__(self, config: Path, gw_id: str, data_dir: Path):
        self.config = config
        self.id = gw_id
        self.data_dir = data_dir
        self.proc: subprocess.Popen | None = None

    def start(self, exit_when_drained: bool = True) -> Gateway:
        args = ["-m", "machimori.cli", "gw", "run", "--config", str(self.config)]
        if exit_when_drained:
            args.append("--exit-when-drained")
        self.proc = spawn(args, self.data_dir.parent / f"{self.id}.log")
        return self

    def stats(self) -> dict[str, Any]:
        try:
            return json.loads((self.data_dir / "stats.json").read_text())
        except (OSError, ValueError):
            return {}

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        rc = self.proc.wait(timeout)
        self.proc = None
        return rc

    def produced(self) -> int:
        """Every sequence number this gateway ever assigned (read from its outbox)."""
        con = sqlite3.connect(self.data_dir / "outbox.sqlite", timeout=5)
        try:
            return con.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0] - 1
        finally:
            con.close()


PG_BIN = Path("/usr/lib/postgresql")


def _pg_bindir() -> Path:
    versions = sorted((p for p in PG_BIN.glob("*/bin") if (p / "initdb").exists()),
                      key=lambda p: int(p.parent.name))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: run ./bin/test (as root it installs it)")
    return versions[-1]


class Postgres:
    """A throwaway PostgreSQL cluster on a free loopback port (initdb + pg_ctl).

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
    """

    def __init__(self) -> None:
        import os
        import tempfile

        self.bindir = _pg_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="machimori-pg-", dir="/tmp"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._n = 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> Postgres:
        self._run("initdb", "-D", str(self.dir / "data"), "--auth=trust", "-U", "postgres",
                  "--encoding=UTF8", "--locale=C")
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off -c max_connections=200", "start")
        return self

    def new_database(self) -> str:
        import psycopg

        self._n += 1
        name = f"t{self._n}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
