"""Page texts, Japanese first, English available (?lang=en)."""

from __future__ import annotations

from flask import request

from gateway.kernels.heat import LEVEL_NAMES_EN, LEVEL_NAMES_JA

TEXTS = {
    "ja": {
        "title": "暑さ指数マップ",
        "subtitle": "まちの気温・表面温度・暑さ指数（WBGT）をリアルタイムで表示します",
        "legend": "暑さ指数（WBGT）の区分",
        "sensors": "センサー",
        "updated": "更新",
        "air": "気温",
        "humidity": "湿度",
        "surface": "表面温度",
        "wbgt": "暑さ指数",
        "level": "区分",
        "trend": "この数時間の暑さ指数（地域の平均と最大）",
        "mean": "平均",
        "max": "最大",
        "no_data": "まだデータがありません",
        "live": "自動更新中",
        "offline": "接続が切れています",
        "other_lang": "English",
        "levels": LEVEL_NAMES_JA,
    },
    "en": {
        "title": "Heat (WBGT) map",
        "subtitle": "Live air temperature, surface temperature and WBGT across the town",
        "legend": "WBGT levels (Ministry of the Environment)",
        "sensors": "sensors",
        "updated": "updated",
        "air": "Air",
        "humidity": "Humidity",
        "surface": "Surface",
        "wbgt": "WBGT",
        "level": "Level",
        "trend": "WBGT over the last hours (area mean and max)",
        "mean": "mean",
        "max": "max",
        "no_data": "No data yet",
        "live": "live",
        "offline": "connection lost",
        "other_lang": "日本語",
        "levels": LEVEL_NAMES_EN,
    },
}


def lang() -> str:
    want = request.args.get("lang") or request.cookies.get("lang") or "ja"
    return want if want in TEXTS else "ja"
