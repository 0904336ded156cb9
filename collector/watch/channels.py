"""The providers, each a thin adapter: SMS (Twilio-compatible REST), signed webhooks, e-mail
(SMTP) and web push (VAPID). Each returns the provider's id for the message or raises
SendError saying whether trying again can help."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from .config import WatchConfig


class SendError(Exception):
    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent  # retrying cannot help (a bad number, a gone subscription)


def _http(req: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        body = e.read()[:300].decode(errors="replace")
        permanent = 400 <= e.code < 500 and e.code not in (408, 409, 425, 429)
        raise SendError(f"HTTP {e.code}: {body}", permanent) from None
    except (urllib.error.URLError, OSError) as e:
        raise SendError(f"unreachable: {e}") from None


def sms(cfg: WatchConfig, to: str, body: str) -> str:
    """POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded, HTTP Basic auth."""
    if not cfg.sms_url:
        raise SendError("SMS is not configured (--sms-url)")
    url = f"{cfg.sms_url}/2010-04-01/Accounts/{urllib.parse.quote(cfg.sms_sid)}/Messages.json"
    data = urllib.parse.urlencode({"To": to, "From": cfg.sms_from, "Body": body}).encode()
    auth = base64.b64encode(f"{cfg.sms_sid}:{cfg.sms_token}".encode()).decode()
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Authorization": f"Basic {auth}",
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    _, raw = _http(req, cfg.timeout_s)
    try:
        return str(json.loads(raw).get("sid", ""))
    except ValueError:
        return ""


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over '<timestamp>.<body>' (docs/watch.md shows how to check it)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def webhook(cfg: WatchConfig, url: str, secret: str, payload: dict[str, Any],
            idem_key: str, now: float | None = None) -> str:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    ts = str(int(time.time() if now is None else now))
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "X-Machimori-Timestamp": ts,
        "X-Machimori-Signature": webhook_signature(secret, ts, body),
        "Idempotency-Key": idem_key})
    status, _ = _http(req, cfg.timeout_s)
    return str(status)


def email(cfg: WatchConfig, to: str, subject: str, text: str, idem_key: str) -> str:
    if not cfg.smtp_host:
        raise SendError("e-mail is not configured (--smtp)")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg.mail_from, to, subject
    msg["Message-ID"] = f"<{idem_key}@machimori>"
    msg.set_content(text)
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_s) as s:
            if cfg.smtp_starttls:
                s.starttls()
            if cfg.smtp_user:
                s.login(cfg.smtp_user, cfg.smtp_password or "")
            refused = s.send_message(msg)
    except smtplib.SMTPRecipientsRefused as e:
        raise SendError(f"recipient refused: {e}", permanent=True) from None
    except (smtplib.SMTPException, OSError) as e:
        raise SendError(f"SMTP: {e}") from None
    if refused:
        raise SendError(f"recipient refused: {refused}", permanent=True)
    return msg["Message-ID"]


def vapid_key(path: Path) -> Any:
    """The VAPID signing key (P-256), made on first use and kept in a 0600 file."""
    from py_vapid import Vapid

    if not path.exists():
        v = Vapid()
        v.generate_keys()
        path.parent.mkdir(parents=True, exist_ok=True)
        v.save_key(str(path))
        path.chmod(0o600)
    return Vapid.from_file(str(path))


def vapid_public(path: Path) -> str:
    """The applicationServerKey a browser subscribes with (base64url, uncompressed point)."""
    from cryptography.hazmat.primitives import serialization

    raw = vapid_key(path).public_key.public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def push(cfg: WatchConfig, key_path: Path, subscription: dict[str, Any],
         payload: dict[str, Any]) -> str:
    """RFC 8030 push with RFC 8291 (aes128gcm) encryption and RFC 8292 VAPID."""
    from pywebpush import WebPushException, webpush

    try:
        r = webpush(subscription, data=json.dumps(payload, ensure_ascii=False),
                    vapid_private_key=vapid_key(key_path),
                    vapid_claims={"sub": cfg.vapid_subject}, ttl=3600, timeout=cfg.timeout_s)
    except WebPushException as e:
        code = e.response.status_code if e.response is not None else 0
        raise SendError(f"push: {e}", permanent=code in (404, 410)) from None
    except OSError as e:
        raise SendError(f"push: {e}") from None
    return str(getattr(r, "status_code", ""))
