"""The heat vocabulary: WBGT (暑さ指数) levels with their bounds, names, colours and advice.

One definition, used by the gateway's kernels (bounds), the collector's API and pages (names,
colours; served to JavaScript as JSON by /api/v1/heat/levels) and the tests. The levels and
colours are the Ministry of the Environment's (環境省 熱中症予防情報サイト, 日常生活に関する指針),
with level 0 below 注意.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Level:
    code: int
    ja: str
    en: str
    lower: float | None  # °C, inclusive; None for the lowest level
    upper: float | None  # °C, exclusive; None for the highest level
    colour: str  # the Ministry's colour for the level
    text: str  # a text colour readable on `colour` (WCAG AA contrast)
    advice_ja: str
    advice_en: str

    @property
    def range_label(self) -> str:
        if self.lower is None:
            return f"< {self.upper:g}"
        if self.upper is None:
            return f"≥ {self.lower:g}"
        return f"{self.lower:g}–{self.upper:g}"


LEVELS: tuple[Level, ...] = (
    Level(0, "ほぼ安全", "almost safe", None, 21.0, "#218cff", "#000000",
          "適宜水分・塩分を補給する",
          "Drink water and take salt as needed"),
    Level(1, "注意", "caution", 21.0, 25.0, "#a0d2ff", "#000000",
          "激しい運動や重労働の時は熱中症に注意する",
          "Heatstroke is possible during hard exercise or heavy work"),
    Level(2, "警戒", "warning", 25.0, 28.0, "#faf500", "#000000",
          "運動や激しい作業をする時は定期的に十分に休息を取り入れる",
          "Rest regularly when exercising or working hard"),
    Level(3, "厳重警戒", "severe warning", 28.0, 31.0, "#ff9600", "#000000",
          "外出時は炎天下を避け、室内では室温の上昇に注意する",
          "Outdoors avoid the blazing sun; indoors watch the room temperature"),
    Level(4, "危険", "danger", 31.0, None, "#ff2800", "#000000",
          "高齢者は安静状態でも危険が大きい。外出はなるべく避け、涼しい室内に移動する",
          "Even at rest older people are at great risk: avoid going out, move to a cool room"),
)
# Lower bound of each level above 0, °C, ascending: level = number of bounds <= WBGT.
BOUNDS: tuple[float, ...] = tuple(lv.lower for lv in LEVELS if lv.lower is not None)
NAMES_JA: tuple[str, ...] = tuple(lv.ja for lv in LEVELS)
NAMES_EN: tuple[str, ...] = tuple(lv.en for lv in LEVELS)
COLOURS: tuple[str, ...] = tuple(lv.colour for lv in LEVELS)
# Grey for a sensor with no level or a stale reading.
NO_DATA_COLOUR = "#9e9e9e"


def level_of(wbgt: float) -> int:
    """The level code of a WBGT value (°C), without hysteresis (the gateway adds that)."""
    return sum(1 for b in BOUNDS if wbgt >= b)


def level_json(code: int | None) -> dict[str, Any] | None:
    """A level as the API reports it on a reading: code and both names."""
    if code is None:
        return None
    lv = LEVELS[code]
    return {"code": lv.code, "ja": lv.ja, "en": lv.en}


def vocabulary() -> dict[str, Any]:
    """The whole vocabulary for the pages (GET /api/v1/heat/levels)."""
    return {
        "bounds": list(BOUNDS),
        "no_data_colour": NO_DATA_COLOUR,
        "levels": [{"code": lv.code, "ja": lv.ja, "en": lv.en, "lower": lv.lower,
                    "upper": lv.upper, "range": lv.range_label, "colour": lv.colour,
                    "text": lv.text, "advice_ja": lv.advice_ja, "advice_en": lv.advice_en}
                   for lv in LEVELS],
    }


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
