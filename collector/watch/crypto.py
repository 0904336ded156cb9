"""Sealing personal fields at rest: AES-256-GCM under keys kept outside the database.

A sealed value is `<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`; the associated data names the
table, column and row, so a value copied into another row or column does not open. The key ring
is a file (or the MACHIMORI_WATCH_KEYS variable) of `<key id> <base64 32-byte key>` lines, the
first being the one that seals; the others only open, until `machimori collector watch rekey`
has re-sealed everything under the first (docs/security.md, "Rotating the key").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
ENV = "MACHIMORI_WATCH_KEYS"


class WatchKeyError(ValueError):
    """The key ring is missing, malformed, or cannot open a value; the message says which."""


@dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]  # (key id, 32-byte key); the first seals

    def __post_init__(self) -> None:
        if not self.keys:
            raise WatchKeyError("the watch key ring is empty")
        for kid, key in self.keys:
            if not KEY_ID_RE.match(kid) or len(key) != 32:
                raise WatchKeyError(f"watch key {kid!r}: expected an id of [A-Za-z0-9_-] and a "
                                "base64 32-byte key")

    @property
    def current(self) -> str:
        return self.keys[0][0]

    def seal(self, plain: str, aad: str) -> str:
        kid, key = self.keys[0]
        nonce = secrets.token_bytes(12)
        ct = AESGCM(key).encrypt(nonce, plain.encode(), aad.encode())
        return f"{kid}:{base64.b64encode(nonce + ct).decode()}"

    def open(self, sealed: str, aad: str) -> str:
        kid, _, body = sealed.partition(":")
        key = dict(self.keys).get(kid)
        if key is None:
            raise WatchKeyError(f"no watch key {kid!r} in the key ring (was it removed too early?)")
        raw = base64.b64decode(body)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except InvalidTag:
            raise WatchKeyError(f"a sealed value does not open for {aad}") from None

    def lookup_hash(self, value: str) -> str:
        """A keyed hash to find a row by an exact value (a phone number) without opening all."""
        k = hashlib.sha256(b"machimori-watch-lookup" + self.keys[0][1]).digest()
        return hmac.new(k, value.encode(), hashlib.sha256).hexdigest()


def parse(text: str) -> Keyring:
    keys = []
    for n, line in enumerate(text.replace(",", "\n").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(":", " ", 1).split()
        if len(parts) != 2:
            raise WatchKeyError(f"watch key line {n}: expected '<id> <base64 key>'")
        try:
            key = base64.b64decode(parts[1], validate=True)
        except ValueError:
            raise WatchKeyError(f"watch key line {n}: the key is not base64") from None
        keys.append((parts[0], key))
    return Keyring(tuple(keys))


def new_key_line(kid: str | None = None) -> str:
    kid = kid or "k" + secrets.token_hex(4)
    return f"{kid} {base64.b64encode(secrets.token_bytes(32)).decode()}\n"


def default_key_file(db_url: str) -> Path | None:
    """Beside a SQLite file (never inside it); none for PostgreSQL: name one explicitly."""
    if db_url.startswith(("postgresql://", "postgres://")):
        return None
    return Path(db_url).with_name(Path(db_url).name + ".watch-key")


def load(key_file: str | Path | None, db_url: str, create: bool = True) -> Keyring:
    """The key ring from MACHIMORI_WATCH_KEYS, else the file (created with one new key, mode
    0600, when missing and `create`)."""
    if os.environ.get(ENV):
        return parse(os.environ[ENV])
    path = Path(key_file) if key_file else default_key_file(db_url)
    if path is None:
        raise WatchKeyError("with PostgreSQL, give the watch key file (--watch-key-file or "
                        "MACHIMORI_WATCH_KEY_FILE) or set MACHIMORI_WATCH_KEYS")
    if not path.exists():
        if not create:
            raise WatchKeyError(f"watch key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process of this collector made it a moment ago
        else:
            with os.fdopen(fd, "w") as f:
                f.write(new_key_line())
                f.flush()
                os.fsync(f.fileno())
    return parse(path.read_text())
