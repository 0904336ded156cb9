"""How a client reaches a broker: `mqtt://` or `mqtts://` URLs and their TLS files.

One reading of a broker URL for the gateway, the collector and `gw selftest`: `mqtt://host:1883`
in the clear (loopback, a lab), `mqtts://host:8883` over TLS, checked against a CA file (or the
system's CAs), with an optional client certificate and key.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

SCHEMES = {"mqtt": 1883, "mqtts": 8883}


class LinkError(ValueError):
    """A broker URL or TLS setting that cannot work; the message says the fix, `setting`
    names what to change (url, ca_file, cert_file, key_file)."""

    def __init__(self, message: str, setting: str = "url"):
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class BrokerLink:
    host: str
    port: int
    tls: bool
    ca_file: str | None = None  # None: the system's CA store
    cert_file: str | None = None
    key_file: str | None = None


def parse(url: str, ca_file: str | None = None, cert_file: str | None = None,
          key_file: str | None = None) -> BrokerLink:
    u = urlparse(url)
    if u.scheme not in SCHEMES or not u.hostname:
        raise LinkError(f"{url!r}: must look like mqtt://host:1883 or mqtts://host:8883")
    try:
        port = u.port or SCHEMES[u.scheme]
    except ValueError:
        raise LinkError(f"{url!r}: the port is not a number 1..65535") from None
    tls = u.scheme == "mqtts"
    if not tls and (ca_file or cert_file or key_file):
        raise LinkError(f"{url!r}: CA, certificate and key files need an mqtts:// URL")
    if (cert_file is None) != (key_file is None):
        raise LinkError("a client certificate needs its key, and a key its certificate",
                        "key_file" if key_file is None else "cert_file")
    return BrokerLink(u.hostname, port, tls, ca_file, cert_file, key_file)


def tls_context(link: BrokerLink) -> ssl.SSLContext:
    """Server certificate and host name verified; TLS 1.2 or newer. LinkError names the file
    that cannot be used."""
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=link.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise LinkError(f"{link.ca_file}: not a usable CA certificate (PEM) ({exc})",
                        "ca_file") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if link.cert_file:
        try:
            ctx.load_cert_chain(link.cert_file, link.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise LinkError(f"{link.cert_file} with {link.key_file}: not a usable certificate "
                            f"and key (PEM, matching) ({exc})", "cert_file") from None
    return ctx


def apply(client: Any, link: BrokerLink) -> None:
    """Set a paho client up for the link (TLS when the URL is mqtts://)."""
    if link.tls:
        client.tls_set_context(tls_context(link))
