"""The watch's settings, parsed once into a frozen dataclass (flags, then the environment for
secrets), validated with errors that name the option and the fix."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

from .engine import Settings


@dataclass(frozen=True)
class WatchConfig:
    public_url: str = "http://127.0.0.1:8080"  # where links in messages point
    key_file: str | None = None  # the key ring (default: beside the SQLite file)
    sms_url: str | None = None  # Twilio-compatible API base, e.g. https://api.twilio.com
    sms_sid: str = ""
    sms_token: str = ""  # MACHIMORI_SMS_TOKEN
    sms_from: str = ""
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None  # MACHIMORI_SMTP_PASSWORD
    smtp_starttls: bool = False
    mail_from: str = "machimori@localhost"
    vapid_key_file: str | None = None  # PEM (default: beside the SQLite file)
    vapid_subject: str = "mailto:admin@localhost"
    tick_s: float = 0.25  # how often the engine looks at new events and the clock
    link_ttl_s: float = 24 * 3600  # acknowledgement links in messages expire
    max_attempts: int = 10  # a target that failed this often is given up (state dead)
    timeout_s: float = 10.0  # per provider request
    engine: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        for name in ("public_url", "sms_url"):
            v = getattr(self, name)
            if v is not None and urlparse(v).scheme not in ("http", "https"):
                raise ValueError(f"--{name.replace('_', '-')} {v!r}: expected http(s)://HOST")
        if self.sms_url and not (self.sms_sid and self.sms_token and self.sms_from):
            raise ValueError("--sms-url needs --sms-sid, --sms-from and MACHIMORI_SMS_TOKEN")
        if not 0 < self.tick_s <= 60:
            raise ValueError("watch tick must be within (0, 60] seconds")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("watch (docs/watch.md)")
    g.add_argument("--public-url", default="http://127.0.0.1:8080",
                   help="the collector's address as responders reach it (links in messages)")
    g.add_argument("--watch-key-file", default=None,
                   help="key ring for personal data (default: <db>.watch-key beside a SQLite "
                        "file); or set MACHIMORI_WATCH_KEYS")
    g.add_argument("--sms-url", default=None,
                   help="Twilio-compatible SMS API base URL (token: MACHIMORI_SMS_TOKEN)")
    g.add_argument("--sms-sid", default="", help="SMS account SID")
    g.add_argument("--sms-from", default="", help="SMS sender number (E.164)")
    g.add_argument("--smtp", default=None, help="mail server HOST:PORT for e-mail notices "
                                                "(password: MACHIMORI_SMTP_PASSWORD)")
    g.add_argument("--smtp-user", default=None, help="mail server user name")
    g.add_argument("--smtp-starttls", action="store_true", help="use STARTTLS")
    g.add_argument("--mail-from", default="machimori@localhost", help="sender of e-mail notices")
    g.add_argument("--quiet-hours", default="22:00-07:00",
                   help="local hours when only SOS and falls are sent, HH:MM-HH:MM (default "
                        "22:00-07:00); 'none' sends everything at once (the demo, whose "
                        "simulated clock is not the wall clock)")
    g.add_argument("--vapid-key-file", default=None,
                   help="VAPID private key (PEM) for web push (default: <db>.vapid.pem)")


def quiet_hours(text: str) -> tuple[int, int]:
    """'HH:MM-HH:MM' as (start, end) minutes of the day; 'none': no quiet hours (start = end)."""
    if text.strip().lower() == "none":
        return 0, 0
    try:
        a, b = (int(h) * 60 + int(m) for h, m in (x.strip().split(":") for x in text.split("-")))
    except ValueError:
        raise ValueError(f"--quiet-hours {text!r}: expected HH:MM-HH:MM or none") from None
    if not (0 <= a < 1440 and 0 <= b < 1440):
        raise ValueError(f"--quiet-hours {text!r}: hours are 00:00 to 23:59")
    return a, b


def from_args(args: argparse.Namespace) -> WatchConfig:
    host, port = None, 25
    q_start, q_end = quiet_hours(getattr(args, "quiet_hours", "22:00-07:00"))
    if args.smtp:
        host, _, p = args.smtp.rpartition(":")
        if not host or not p.isdigit():
            raise ValueError(f"--smtp {args.smtp!r}: expected HOST:PORT")
        port = int(p)
    return WatchConfig(
        public_url=args.public_url.rstrip("/"), key_file=args.watch_key_file,
        sms_url=args.sms_url.rstrip("/") if args.sms_url else None, sms_sid=args.sms_sid,
        sms_token=os.environ.get("MACHIMORI_SMS_TOKEN", ""), sms_from=args.sms_from,
        smtp_host=host, smtp_port=port, smtp_user=args.smtp_user,
        smtp_password=os.environ.get("MACHIMORI_SMTP_PASSWORD"),
        smtp_starttls=args.smtp_starttls, mail_from=args.mail_from,
        vapid_key_file=args.vapid_key_file,
        engine=Settings(quiet_start_min=q_start, quiet_end_min=q_end))
