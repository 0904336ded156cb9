"""The watch pages' texts, Japanese first (merged over collector/i18n.py's TEXTS)."""

from __future__ import annotations

from typing import Any

WATCH_TEXTS: dict[str, dict[str, Any]] = {
    "ja": {
        "watch": "見守り",
        "ack_title": "見守りのお知らせ",
        "link_invalid": "このリンクは使えません。お知らせの文面をご確認ください。",
        "link_expired": "このリンクは期限が切れました。アプリから対応してください。",
        "opened": "発生",
        "state": "状態",
        "states": {"asking": "本人に確認中", "open": "未対応", "acknowledged": "対応中",
                   "resolved": "解決"},
        "acknowledge": "対応します",
        "resolve": "解決した",
        "escalate": "次の方へ引き継ぐ",
        "note": "メモ（任意）",
        "done": {"acknowledge": "「対応します」を受け付けました。ありがとうございます。",
                 "resolve": "「解決」を受け付けました。ありがとうございました。",
                 "escalate": "次の方へお知らせしました。"},
        "severity": {3: "緊急", 2: "至急", 1: "お知らせ"},
    },
    "en": {
        "watch": "Watch",
        "ack_title": "Watch alert",
        "link_invalid": "This link cannot be used. Please check the message.",
        "link_expired": "This link has expired. Please use the app.",
        "opened": "Opened",
        "state": "State",
        "states": {"asking": "asking the resident", "open": "open",
                   "acknowledged": "acknowledged", "resolved": "resolved"},
        "acknowledge": "I'll take it",
        "resolve": "Resolved",
        "escalate": "Pass to the next tier",
        "note": "Note (optional)",
        "done": {"acknowledge": "Acknowledged. Thank you.",
                 "resolve": "Marked as resolved. Thank you.",
                 "escalate": "The next tier has been told."},
        "severity": {3: "immediate", 2: "urgent", 1: "notice"},
    },
}
