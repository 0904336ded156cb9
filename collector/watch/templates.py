"""Plain-language Japanese messages per channel and audience (family, professionals, the
resident). Pure: values in, text out. Names appear only in messages to the assigned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .engine import CAUSES_JA

BRAND = "【まちもり見守り】"


@dataclass(frozen=True)
class Message:
    subject: str  # e-mail subject, push title
    text: str  # SMS, e-mail body, push body


@dataclass(frozen=True)
class Facts:
    template: str  # alert | ask | reminder | silence_ending
    cause: str
    severity: int
    name: str | None  # the person's name, or a place for gateways
    when: float
    tier: int | None
    link: str | None  # signed acknowledgement link
    until: float | None = None  # a silence's end
    reason: str | None = None


def clock(t: float, utc_offset_h: float = 9.0, lang: str = "ja") -> str:
    d = datetime.fromtimestamp(t, UTC) + timedelta(hours=utc_offset_h)
    if lang == "en":
        return f"{d.day} {d.strftime('%b')} {d.hour}:{d.minute:02d}"
    return f"{d.month}月{d.day}日 {d.hour}:{d.minute:02d}"


def render(f: Facts, channel: str) -> Message:
    cause = CAUSES_JA.get(f.cause, f.cause)
    who = f"{f.name}さん" if f.name else "見守り対象の方"
    at = clock(f.when)
    short = channel in ("sms", "push")
    if f.template == "ask":
        return Message(f"{BRAND}ご様子の確認", (
            f"{BRAND}{who}、お変わりありませんか。お元気でしたら「1」と返信してください。"
            "返信がないときは、ご家族や見守りの方にお知らせします。"))
    if f.template == "silence_ending":
        return Message(f"{BRAND}見守りの一時停止が終わります", (
            f"{BRAND}{who}の見守りの一時停止（{f.reason}）は {clock(f.until or f.when)} に"
            "終わり、見守りを再開します。延長するときはアプリから設定してください。"))
    if f.cause == "gateway_offline":
        text = (f"{BRAND}中継機 {f.name} が {at} から応答しません。この中継機の範囲の"
                "「見かけない」お知らせは止めています。点検をお願いします。")
        return Message(f"{BRAND}中継機の停止", text + (f"\n確認: {f.link}" if f.link else ""))
    if f.template == "reminder":
        text = (f"{BRAND}{who}の{cause}（{at}）は、まだ「解決」になっていません。"
                "状況をご確認のうえ、アプリで「解決」または「次へ引き継ぐ」を押してください。")
    elif f.tier == 1:
        urgent = "すぐに" if f.severity >= 3 else ""
        text = (f"{BRAND}{who}の{cause}がありました（{at}）。{urgent}ご様子を確かめてください。"
                "確かめたら、リンクを開くか「1」と返信してください。")
    else:
        text = (f"{BRAND}{cause}: {who}（{at}）。対応できる方は、リンクを開いて「対応します」"
                "を押すか「1」と返信してください。")
    if f.link:
        text += ("\n" if not short else " ") + f.link
    return Message(f"{BRAND}{who}の{cause}", text)
