r"""Detectors of lines that are not prose: what crawls are full of and language ID lets through.

Each detector scores one line; the filters stage (filters.py) rejects a line whose score crosses the
configured bound, under the detector's name. They look at the shape of a line, never at its words,
so they work the same in every language and script:

- ``config_or_log_line``: colon-separated records (``root:x:0:0:root:/root:/bin/bash``), settings
  (``net.ipv4.ip_forward = 1``, ``[section]``, ``export PATH=…``), shell prompts, and log lines
  (a timestamp, syslog or access-log prefix, a level tag, a stack frame).
- ``code``: signals of source code or markup; one signal alone is common in prose (a semicolon at the
  end, a parenthesis), so the score counts distinct signals.
- ``key_value_or_table``: table rows and navigation lists (three or more cells between ``|``, tabs or
  bullets, a Markdown rule) and
  runs of ``key: value`` pairs, or a lone pair whose value is a number (``Gewicht: 2,5 kg``).
- ``bare_links``: the share of words that are URLs, e-mail addresses, file paths or domains.
- ``encoded_blob``: the share of characters in base64, hexadecimal or UUID tokens.

Each detector comes with a screen, an RE2 pattern that every line with a nonzero score matches:
`scores` runs it over a whole batch in C++ (pyarrow.compute) and the detector's Python regexes only
on the lines it lets through, about one in a hundred of prose. A screen may let through more than its
detector scores, never less, so the scores are the detector's own; tests/pipelines/corpus/test_junk.py
checks that on generated lines. RE2's \d, \s and \w are ASCII where Python's are Unicode, so the
screens spell such classes out (``\p{Nd}``) or stand for Python's ``^\s*`` by ``^[^\p{L}\p{N}]*``
(no whitespace is a letter or a number).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_COLON = ":："

# A whole line of four or more colons between fields without spaces (passwd, group, shadow, PATH-like).
_COLON_RECORD = re.compile(rf"^[^\s{_COLON}]*(?:[{_COLON}][^{_COLON}]*){{4,}}$")
_SETTING = re.compile(
    r"^\s*(?:export\s+|set\s+)?[A-Za-z_][\w.\-]*(?:\[[^\]]*\])?\s*[=:](?!//)\s*\S*\s*$"  # key=value, key: value
    r"|^\s*(?:export|set)\s+[A-Za-z_]\w*="  # export NAME=…
)
_SETTING_KEY = re.compile(r"^\s*(?:export\s+|set\s+)?[A-Za-z_]*[a-z0-9][_.\-][\w.\-]*\s*[=:]|^\s*[A-Z][A-Z0-9_]+=|=")
_SECTION = re.compile(r"^\s*\[[\w .:\-/]+\]\s*$")  # [section], also "[Applause]"
# A prompt and a lower-case command ("$ 5 Milliarden" is money).
_PROMPT = re.compile(r"^\s*(?:\$|>>>|[\w.\-]+@[\w.\-]+:\S*[$#]|[A-Z]:\\[^>]*>)\s+[a-z][\w.\-]*(?:\s|$)")
_LOG = re.compile(
    r"^\s*\[?\d{4}[-/.]\d{2}[-/.]\d{2}[T ]\d{1,2}:\d{2}"  # ISO date and time
    r"|^\s*\[?\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\]?\s"  # a time stamp
    r"|^\s*(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}\s"  # syslog
    r"|^\s*\d{1,3}(?:\.\d{1,3}){3}\s+\S+\s+\S+\s+\["  # access log
    r"|^\s*\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)\]?\s*[:\]|\-]"  # level tag
    r"|^\s*at\s+[\w$.<>]+\([\w$.]*(?::\d+)?\)\s*$"  # Java stack frame
    r"|^\s*File \"[^\"]+\", line \d+"  # Python traceback frame
    r"|^\s*Traceback \(most recent call last\)"
)

# (characters one of which the signal needs, signal): the cheap test spares most prose the regex;
# anchored signals need none.
_CODE_SIGNALS = tuple(
    (re.compile(f"[{re.escape(needs)}]" if needs else ""), re.compile(pattern))
    for needs, pattern in (
        (";{}", r"[;{}]\s*$"),  # statement or block end
        ("{}])", r"^\s*[{}\])]"),  # a line that opens with a closing bracket
        ("=<>-&|+:", r"(?:==|!=|<=|>=|=>|->|&&|\|\||\+\+|::|\+=|-=|:=)"),  # operators prose does not use
        ("(", r"\.(?<=\w\.)[A-Za-z_]\w*\s*\("),  # method call: obj.method(
        ("(", r"\b(?:[a-z]+_[a-z_]+|[a-z]+[A-Z]\w*)\s*\("),  # snake_case( or camelCase(
        ("(", r"\(\s*\)"),  # empty argument list
        ("<", r"</?[A-Za-z][\w\-]*(?:\s+[\w\-:]+(?:=(?:\"[^\"]*\"|'[^']*'|\S+))?)*\s*/?>"),  # markup tag
        (
            "",
            r"^\s*(?:def|class|import|from\s+[\w.]+\s+import|#include|#define|"
            r"function|var|let|const|public|private|protected|static|return|package|using|namespace|fn|func|elif|"
            r"lambda|SELECT|INSERT|UPDATE|DELETE|CREATE)\b",
        ),  # a keyword opening the line
        ("", r"^\s*(?://|/\*|\*/|<!--|-->|#!)"),  # comment delimiters opening the line
        ("$=", r"\$\{?\w|\w\]\s*=|\w ?=\s*['\"\[{(\d]"),  # $var, x[i] =, name = literal
        ("(", r"\b(?:true|false|null|None|nil|undefined|NULL|self|this)[;,)]"),  # literals as arguments
        (".", r"\.(?<=[a-z0-9_]{2}\.)(?=[a-z_]{2})"),  # module.name (prose puts a space after a period)
        ("{;", r"^\s*[.#]?[\w\-]+(?:\s*[,>]\s*[.#]?[\w\-]+)*\s*\{|\b[a-z\-]+\s*:\s*[^;:]{1,40};"),  # CSS
    )
)
# Signals that alone are code: preprocessor lines, PHP, shebangs.
_CODE_MARKERS = re.compile(r"^\s*#\s*(?:include|define|ifn?def|endif|pragma)\b|<\?php|^\s*#!/")

_URL_PATTERN = r"(?:https?|ftp|file)://\S+|www\.\S+"
_URL = re.compile(_URL_PATTERN, re.IGNORECASE)

# Cell separators: "|" and tabs anywhere, list bullets between spaces (Catalan writes "l·l").
_TABLE_CELL = re.compile(r"[|\t]|(?<=\s)[·•›](?=\s)")
_CELL_HINT = re.compile(r"[|\t·•›]")
_COLON_HINT = re.compile(f"[{_COLON}]")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_KEY_VALUE = re.compile(rf"(?:^|[|;•·,]\s*|\s{{2,}})[^\W\d_][^{_COLON}|;•·]{{0,24}}?\s*[{_COLON}]\s*\S")
# A key of up to three words without digits, and a value of digits, signs and a unit ("2,5 kg", "$12.99").
_LONE_PAIR = re.compile(rf"^\s*[^\W\d_][^\W\d]*(?:[ .\-/][^\W\d]+){{0,2}}\.?\s*[{_COLON}]\s*([^{_COLON}]{{1,24}})$")
_LETTER = re.compile(r"[^\W\d_]")
_SENTENCE_END = re.compile(r"[.!?。！？।]\s*$")

_LINK = re.compile(
    r"^[(<\[\"'«]*(?:"
    + _URL_PATTERN  # URLs
    + r"|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"  # e-mail addresses
    r"|(?:[A-Za-z]:\\|~?/|\./|\.\./)[\w.\-~]+(?:[/\\][\w.\-~]*)+"  # file paths
    r"|[\w\-]+(?:\.[\w\-]+)*\.(?:com|org|net|edu|gov|io|info|biz|co|de|fr|uk|ru|cn|jp|html?|php|aspx?)(?:/\S*)?"
    r")[)>\]\"'»,;.:]*$",
    re.IGNORECASE,
)
_WORD_LIKE = re.compile(r"\w")
_LINK_HINT = re.compile(r"[@/\\]|\.(?=[A-Za-z])")  # what every link, address, path or domain has

_DIGIT = re.compile(r"[0-9]")
_BLOB = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUID
    r"|\b(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{16,}\b"  # hex of digits and letters
    r"|(?<![\w+/])(?=[\w+/]*\d)(?=[\w+/]*[a-z])(?=[\w+/]*[A-Z])[A-Za-z0-9+/_\-]{20,}={0,2}"  # base64
)


def config_or_log_score(text: str) -> float:
    """1 for a configuration, shell or log line, else 0."""
    if _COLON_RECORD.match(text) or _LOG.match(text) or _PROMPT.match(text) or _SECTION.match(text):
        return 1.0
    # "key: value" alone is as often prose ("Hinweis: kein Zutritt"); a setting's key looks like an identifier
    return float(bool(_SETTING.match(text) and _SETTING_KEY.search(text)))


def code_score(text: str) -> float:
    """Number of distinct code signals on the line; a marker counts as many as there are signals."""
    if _CODE_MARKERS.search(text):
        return float(len(_CODE_SIGNALS))
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)  # a link's dots and "?id=5" are not code
    return float(sum(1 for needs, signal in _CODE_SIGNALS if needs.search(text) and signal.search(text)))


def key_value_or_table_score(text: str) -> float:
    """1 for a table row or a line of key: value pairs, else 0."""
    if _CELL_HINT.search(text) and len(_TABLE_CELL.findall(text)) >= 2 or _TABLE_RULE.match(text):
        return 1.0
    if not _COLON_HINT.search(text):
        return 0.0
    if len(_KEY_VALUE.findall(text)) >= 2 and not _SENTENCE_END.search(text):
        return 1.0
    pair = _LONE_PAIR.match(text)
    if pair is None:
        return 0.0
    value = pair.group(1)
    return float(any(c.isdigit() for c in value) and len(_LETTER.findall(value)) <= 4)


def link_share(text: str) -> float:
    """Share of the line's words that are URLs, e-mail addresses, paths or domains."""
    if not _LINK_HINT.search(text):
        return 0.0
    words = [w for w in text.split() if _WORD_LIKE.search(w)]
    if not words:
        return 0.0
    return sum(1 for w in words if _LINK.match(w)) / len(words)


def blob_share(text: str) -> float:
    """Share of the line's non-space characters inside base64, hexadecimal or UUID tokens."""
    if not _DIGIT.search(text):  # every blob token has a digit
        return 0.0
    covered = sum(m.end() - m.start() for m in _BLOB.finditer(text))
    if not covered:
        return 0.0
    return covered / max(1, len(text) - text.count(" "))


@dataclasses.dataclass(frozen=True, slots=True)
class Detector:
    score: Callable[[str], float]  # of one line
    screen: str  # RE2; every line with a nonzero score matches it


# What Python's `^\s*` (and `^\s*\[?`) may skip at the start of a line: no letter or number.
_OPENING = r"^[^\p{L}\p{N}]*"
_CODE_KEYWORDS = (
    "def|class|import|from|#include|#define|function|var|let|const|public|private|protected|static|return|"
    "package|using|namespace|fn|func|elif|lambda|SELECT|INSERT|UPDATE|DELETE|CREATE"
)


def _any_of(*patterns: str) -> str:
    return "(?s)" + "|".join(patterns)


CONFIG_OR_LOG = Detector(
    config_or_log_score,
    _any_of(
        r"[:：].*[:：].*[:：].*[:：]",  # a colon record
        _OPENING + r"(?:\p{Nd}|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|TRACE|DEBUG|INFO|NOTICE|WARN|ERROR"
        r"|SEVERE|FATAL|CRITICAL|at|File \"|Traceback)",  # a log line
        _OPENING + r"(?:\$|>>>|\[)",  # a prompt, a section
        "@",
        r"[A-Z]:\\",
        "=",  # a setting's key (_SETTING_KEY)
        r"[a-z0-9][_.\-].*[=:]",
    ),
)
CODE = Detector(
    code_score,
    _any_of(
        "://",  # a link, removed before the signals are counted
        r"www\.",
        "#",  # a marker
        r"<\?php",
        r"[;{}]",  # the signals, in _CODE_SIGNALS's order
        _OPENING + r"[{}\])]",
        r"==|!=|<=|>=|=>|->|&&|\|\||\+\+|::|\+=|-=|:=",
        r"\.[A-Za-z_].*\(",
        r"(?:[a-z]_[a-z_]|[a-z][A-Z]).*\(",
        r"\(.*\)",
        r"</?[A-Za-z].*>",
        _OPENING + "(?:" + _CODE_KEYWORDS + ")",
        _OPENING + r"(?://|/\*|\*/|<!--|-->)",
        r"[$=]",
        r"(?:true|false|null|None|nil|undefined|NULL|self|this)[;,)]",
        r"[a-z0-9_]{2}\.[a-z_]{2}",
        r"\{|:.*;",
    ),
)
KEY_VALUE_OR_TABLE = Detector(key_value_or_table_score, r"[|\t·•›:：]|---")
LINKS = Detector(link_share, r"[@/\\]|\.[A-Za-z]")  # _LINK_HINT
BLOB = Detector(blob_share, r"[0-9a-fA-F]{8}-|[0-9a-fA-F]{16}|[A-Za-z0-9+/_\-]{20}")  # a _BLOB token's core


def scores(texts: list[str], detector: Detector) -> np.ndarray:
    """The detector's score of each text (0 where its screen does not match)."""
    screened = pc.match_substring_regex(pa.array(texts, pa.string()), detector.screen)
    result = np.zeros(len(texts))
    for i in np.flatnonzero(screened.to_numpy(zero_copy_only=False)):
        result[i] = detector.score(texts[i])
    return result
