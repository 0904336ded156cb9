"""MQTT over TLS (mqtts://) between gateway, real Mosquitto and collector; `gw selftest` against
the deployed broker configuration and ACL; the MQTT settings a gateway refuses.

Certificates are made by the test (tests/certs.py). The broker configuration under test is
deploy/mosquitto/machimori.conf itself, with only its paths and ports changed.
"""

from __future__ import annotations

import dataclasses
import getpass
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import ConfigError, dump, load, parse
from gateway.selftest import run_checks
from machimori.procs import free_port
from sim.commands import write_town
from sim.town import sim_epoch

from .certs import TlsFiles, make_tls_files
from .harness import REPO, Collector, Gateway, Mosquitto

PASSWORDS = {"gw-01": "pw-gw-01", "gw-02": "pw-gw-02", "collector": "pw-collector"}


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path / "certs")


def deployed_broker(tmp_path: Path, tls: TlsFiles, acl: Path | None = None) -> Mosquitto:
    """Mosquitto running deploy/mosquitto/machimori.conf (paths and ports moved here)."""
    pw = tmp_path / "passwd"
    for i, (user, password) in enumerate(PASSWORDS.items()):
        subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(pw), user,
                        password], check=True, capture_output=True)
    m = Mosquitto(tmp_path / "mosquitto", tls=tls)
    conf = (REPO / "deploy" / "mosquitto" / "machimori.conf").read_text()
    for old, new in (("/etc/mosquitto/machimori.passwd", str(pw)),
                     ("/etc/mosquitto/machimori.acl",
                      str(acl or REPO / "deploy" / "mosquitto" / "machimori.acl")),
                     ("/etc/mosquitto/certs/", f"{tls.ca.parent}/"),
                     ("listener 1883 127.0.0.1", f"listener {m.port} 127.0.0.1"),
                     ("listener 8883", f"listener {m.tls_port} 127.0.0.1")):
        assert old in conf, old
        conf = conf.replace(old, new)
    m.conf.write_text(conf + f"user {getpass.getuser()}\nlog_dest file {m.dir}/mosquitto.log\n")
    return m.start()


def gateway_config(tmp_path: Path, url: str, username: str = "gw-01", **mqtt: object) -> Path:
    doc: dict = {"gateway": {"id": "gw-01", "data_dir": str(tmp_path / "gw"), "source": "sim"},
                 "mqtt": {"url": url, "username": username,
                          "password": PASSWORDS.get(username, "x"), **mqtt}}
    path = tmp_path / "gw.toml"
    lines = []
    for section, values in doc.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v!r}".replace("'", '"') for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def broker_check(config: Path) -> tuple[bool, str]:
    (result,) = [r for r in run_checks(str(config)) if r[0] == "broker"]
    return result[1], result[2]


@pytest.fixture
def deployed(tmp_path: Path, tls: TlsFiles) -> Iterator[Mosquitto]:
    m = deployed_broker(tmp_path, tls)
    yield m
    m.stop()


def test_selftest_passes_over_tls_against_the_deployed_broker(tmp_path: Path, tls: TlsFiles,
                                                             deployed: Mosquitto) -> None:
    ok, detail = broker_check(gateway_config(tmp_path, deployed.tls_url, ca_file=str(tls.ca)))
    assert ok, detail
    assert "a publish under gw/gw-01/ came back" in detail


def test_selftest_refuses_a_broker_signed_by_another_ca(tmp_path: Path, tls: TlsFiles,
                                                       deployed: Mosquitto) -> None:
    ok, detail = broker_check(gateway_config(tmp_path, deployed.tls_url,
                                             ca_file=str(tls.other_ca)))
    assert not ok and "CERTIFICATE_VERIFY_FAILED" in detail.upper().replace(" ", "_")


def test_selftest_catches_an_acl_that_drops_silently(tmp_path: Path, tls: TlsFiles) -> None:
    """The broker accepts the login and acknowledges the publish, but its ACL (the deployed
    one without the gateways' write rule) drops it: what a gateway would suffer unseen."""
    deployed_acl = (REPO / "deploy" / "mosquitto" / "machimori.acl").read_text()
    rule = "pattern write machimori/v1/gw/%u/#\n"
    assert rule in deployed_acl
    acl = tmp_path / "broken.acl"
    acl.write_text(deployed_acl.replace(rule, "pattern write machimori/v1/gateways/%u/#\n"))
    m = deployed_broker(tmp_path, tls, acl=acl)
    try:
        ok, detail = broker_check(gateway_config(tmp_path, m.tls_url, ca_file=str(tls.ca)))
    finally:
        m.stop()
    assert not ok
    assert "acknowledged a publish under gw/gw-01/ but never delivered it" in detail


def test_selftest_names_a_wrong_password(tmp_path: Path, tls: TlsFiles,
                                        deployed: Mosquitto) -> None:
    cfg = gateway_config(tmp_path, deployed.tls_url, ca_file=str(tls.ca), password="wrong")
    ok, detail = broker_check(cfg)
    assert not ok and "not authorized" in detail.lower()


def test_plain_port_is_loopback_only_in_the_deployed_config() -> None:
    conf = (REPO / "deploy" / "mosquitto" / "machimori.conf").read_text()
    listeners = [ln.split() for ln in conf.splitlines() if ln.startswith("listener ")]
    assert listeners == [["listener", "1883", "127.0.0.1"], ["listener", "8883"]]
    assert "allow_anonymous false" in conf


def test_gateway_and_collector_over_tls_with_client_certificates(tmp_path: Path,
                                                                 tls: TlsFiles) -> None:
    broker = Mosquitto(tmp_path / "mosquitto", tls=tls, require_certificate=True).start()
    try:
        _town, paths = write_town(tmp_path / "town", broker.tls_url, seed=7, speed=600,
                                  sim_start=sim_epoch(), wall_anchor=time.time(),
                                  sim_minutes=10, gateways=1, nodes=4, residents=4,
                                  households=2)
        (path,) = paths
        cfg = load(path)
        path.write_text(dump(dataclasses.replace(cfg, mqtt=dataclasses.replace(
            cfg.mqtt, ca_file=str(tls.ca), cert_file=str(tls.client_cert),
            key_file=str(tls.client_key)))))
        col = Collector(tmp_path / "col", broker.tls_url, extra_args=(
            "--mqtt-ca", str(tls.ca), "--mqtt-cert", str(tls.client_cert), "--mqtt-key",
            str(tls.client_key))).start()
        g = Gateway(path, cfg.id, cfg.data_dir)
        try:
            g.start()
            assert g.wait_exit(90) == 0
            produced = g.produced()
            from machimori.procs import wait_for

            wait_for(lambda: len(col.stored_seqs(g.id)) >= produced, 60,
                     "everything to arrive over TLS")
            assert col.stored_seqs(g.id) == list(range(1, produced + 1))
            assert produced > 20
        finally:
            g.stop()
            col.stop()
    finally:
        broker.stop()


def test_collector_refuses_bad_tls_options_clearly(tmp_path: Path) -> None:
    import sys

    r = subprocess.run([sys.executable, "-m", "machimori.cli", "collector", "run", "--db",
                        str(tmp_path / "c.sqlite"), "--no-web", "--mqtt",
                        "mqtt://127.0.0.1:1883", "--mqtt-ca", str(tmp_path / "ca.crt")],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2
    assert "need an mqtts:// URL" in r.stderr + r.stdout


@pytest.mark.parametrize("mqtt, field, why", [
    ({"username": "gateway-one"}, "mqtt.username", "must be the gateway id 'gw-01'"),
    ({"url": "mqtt://h:1883", "ca_file": "CA"}, "mqtt.url", "need an mqtts:// URL"),
    ({"url": "mqtts://h", "cert_file": "CA"}, "mqtt.key_file", "needs its key"),
    ({"url": "mqtts://h", "ca_file": "/nonexistent/ca.crt"}, "mqtt.ca_file", "does not exist"),
    ({"url": "tcp://h:1883"}, "mqtt.url", "mqtts://host:8883"),
])
def test_mqtt_settings_a_gateway_refuses(tmp_path: Path, mqtt: dict, field: str,
                                         why: str) -> None:
    mqtt = {k: (str(tmp_path / "ca.crt") if v == "CA" else v) for k, v in mqtt.items()}
    (tmp_path / "ca.crt").write_text("x")
    with pytest.raises(ConfigError) as err:
        parse({"gateway": {"id": "gw-01", "data_dir": str(tmp_path)}, "mqtt": mqtt}, env={})
    assert err.value.field == field and why in str(err.value)


def test_unusable_tls_files_are_refused_at_start(tmp_path: Path, tls: TlsFiles) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    base = {"gateway": {"id": "gw-01", "data_dir": str(tmp_path)}}
    with pytest.raises(ConfigError) as err:
        parse({**base, "mqtt": {"url": "mqtts://h", "ca_file": str(junk)}}, env={})
    assert err.value.field == "mqtt.ca_file" and "not a usable CA certificate" in str(err.value)
    with pytest.raises(ConfigError) as err:  # a certificate with someone else's key
        parse({**base, "mqtt": {"url": "mqtts://h", "ca_file": str(tls.ca),
                                "cert_file": str(tls.client_cert),
                                "key_file": str(tls.broker_key)}}, env={})
    assert err.value.field == "mqtt.cert_file" and "matching" in str(err.value)


def test_mqtts_defaults_to_port_8883_and_round_trips(tmp_path: Path, tls: TlsFiles) -> None:
    cfg = parse({"gateway": {"id": "gw-01", "data_dir": str(tmp_path)},
                 "mqtt": {"url": "mqtts://broker.example", "username": "gw-01",
                          "ca_file": str(tls.ca)}}, env={})
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.link.tls) == ("broker.example", 8883, True)
    path = tmp_path / "again.toml"
    path.write_text(dump(cfg))
    assert load(path, env={}).mqtt == cfg.mqtt


def test_an_unused_port_fails_the_selftest_quickly(tmp_path: Path) -> None:
    ok, detail = broker_check(gateway_config(tmp_path, f"mqtt://127.0.0.1:{free_port()}"))
    assert not ok and "refused" in detail.lower()
