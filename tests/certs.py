"""Certificates for TLS tests, made by the test with `cryptography`: a CA, a broker certificate
for 127.0.0.1 and localhost, client certificates, and a second CA nobody trusts."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # fixed: valid 2026-2036, whatever day tests run


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    broker_cert: Path
    broker_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here: a client trusting it must refuse the broker


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path


def _write_cert(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _leaf(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, cn: str, server: bool
          ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                        critical=False)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                               else ExtendedKeyUsageOID.CLIENT_AUTH]),
                        critical=False))
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return key, b.sign(ca_key, hashes.SHA256())


def make_tls_files(folder: Path, client_cn: str = "gw-01") -> TlsFiles:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _ca("machimori test CA")
    b_key, b_cert = _leaf(ca_key, ca, "broker", server=True)
    c_key, c_cert = _leaf(ca_key, ca, client_cn, server=False)
    _other_key, other = _ca("someone else's CA")
    return TlsFiles(
        ca=_write_cert(ca, folder / "ca.crt"),
        broker_cert=_write_cert(b_cert, folder / "broker.crt"),
        broker_key=_write_key(b_key, folder / "broker.key"),
        client_cert=_write_cert(c_cert, folder / "client.crt"),
        client_key=_write_key(c_key, folder / "client.key"),
        other_ca=_write_cert(other, folder / "other-ca.crt"))
