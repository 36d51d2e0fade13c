"""Lexical anchors: the parts of a sentence that survive translation unchanged.

Numbers, URLs, tokens copied verbatim (names, acronyms) and marks such as quotes, parentheses, colons,
question and exclamation marks tell the aligner which sentences belong together, and numbers that
differ tell the bitext filters that a pair is not a translation.
"""

from __future__ import annotations

import re
import unicodedata

# A separator between digits followed by exactly three digits groups thousands ("1,000", "1.000",
# "1 000" with a no-break space); other separators part numbers ("3.5", "09:30", "7点30分").
_THOUSANDS = re.compile(r"(?<=\d)[.,\u00a0\u2009\u202f](?=\d{3}(?!\d))")
_DIGITS = re.compile(r"\d+")  # any Unicode decimal digits: "٢٠١٨", "２０１８"
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'”»)\]]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
# Word runs, Latin ones apart from the rest because CJK and Thai glue Latin names to their own letters.
_LATIN = "0-9A-Za-z\u00c0-\u024f\u1e00-\u1eff"
_TOKEN = re.compile(f"[{_LATIN}]+|[^\\W{_LATIN}]+")
# Marks that translators keep, folded across scripts onto one representative each.
_MARKS = {
    **dict.fromkeys("?？؟", "?"),
    **dict.fromkeys("!！", "!"),
    **dict.fromkeys('"“”„«»「」『』', '"'),
    **dict.fromkeys("()（）", "("),
    **dict.fromkeys(":：", ":"),
}
# A colon between digits ("09:30") or in "https://" is no mark; the numbers and URLs cover those.
_MARK = re.compile(r"[?？؟!！\"“”„«»「」『』()（）：]|(?<!\d):(?!\d|//)")


def _ascii_digits(number: str) -> str:
    return "".join(ch if ch.isascii() else str(unicodedata.digit(ch)) for ch in number)


def numbers(text: str) -> list[str]:
    """The digit runs of `text` in ASCII without leading zeros, thousands joined: "1,000 at 09:30" → 1000, 9, 30."""
    return [_ascii_digits(run).lstrip("0") or "0" for run in _DIGITS.findall(_THOUSANDS.sub("", text))]


def urls(text: str) -> list[str]:
    """URLs and e-mail addresses in `text`, lower-cased, without trailing punctuation."""
    if "://" not in text and "www." not in text and "@" not in text:  # the regex is slow; most text has none
        return []
    return [match.group().rstrip(".,;:!?").casefold() for match in _URL.finditer(text)]


def tokens(text: str, min_chars: int) -> set[str]:
    """Case-folded tokens of at least `min_chars` characters that contain a letter."""
    return {token.casefold() for token in _TOKEN.findall(text) if len(token) >= min_chars and not token.isdigit()}


def marks(text: str) -> set[str]:
    """The kinds of question, exclamation, quotation, parenthesis and colon marks in `text`."""
    return {_MARKS[mark] for mark in _MARK.findall(text)}
