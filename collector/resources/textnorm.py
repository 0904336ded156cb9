"""Text normalisation for Japanese search and matching: one reading of a string for both.

NFKC folds full-width Latin and digits and half-width kana; katakana become hiragana (so
カナ and かな find each other); case is folded and white space removed (Japanese has no word
breaks, and a query typed with a space should still find the phrase).
"""

from __future__ import annotations

import re
import unicodedata

_KATA_START, _KATA_END = 0x30A1, 0x30F6  # ァ .. ヶ; ー (0x30FC) stays: it is shared
_SPACE = re.compile(r"\s+")


def to_hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if _KATA_START <= ord(c) <= _KATA_END else c
                   for c in text)


def normalise(text: str) -> str:
    """The form stored in the search index and applied to every query."""
    return _SPACE.sub("", to_hiragana(unicodedata.normalize("NFKC", text)).casefold())


def grams(text: str, n: int) -> set[str]:
    """Distinct substrings of length n (the whole string when shorter)."""
    if len(text) <= n:
        return {text} if text else set()
    return {text[i:i + n] for i in range(len(text) - n + 1)}


def index_grams(doc: str) -> list[str]:
    """Every character and every pair of characters of a normalised document: what the
    PostgreSQL index holds, so that 1- and 2-character queries use the index too."""
    return sorted(grams(doc, 1) | grams(doc, 2))


def query_grams(q: str) -> list[str]:
    """The grams a document must hold to contain q (then checked with a substring test)."""
    return sorted(grams(q, 2)) if len(q) >= 2 else [q]


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of two normalised texts (0..1)."""
    ga, gb = grams(normalise(a), 2), grams(normalise(b), 2)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)


def is_token_char(c: str) -> bool:
    """A character FTS5's unicode61 tokenizer keeps (letters, numbers, private use)."""
    cat = unicodedata.category(c)
    return cat[0] in "LN" or cat == "Co"


def spaced(doc: str) -> str:
    """One character a token, for the 1- and 2-character index (SQLite)."""
    return " ".join(c for c in doc if is_token_char(c))
