"""Script-aware sentence splitting of document text, the first step of document alignment.

Line breaks always end a sentence. Inside a line, a sentence ends after a terminator and any closing
quotes or brackets (French also after a spaced " »"):
- CJK `。！？`, Devanagari `।॥`, Arabic `؟`, Urdu `۔`, Ethiopic `።፧` and `፡፡`, Armenian `։`,
  Myanmar `။`, Tibetan `།`, Khmer `។` end it wherever they appear;
- `.!?…` (and `;` in Greek, its question mark) end it before whitespace and a character that is not
  lower case, or directly before a CJK character; `.` not after a known abbreviation, an initial, a
  dotted acronym (`U.S.`) or, in languages that write ordinals as `3.`, a one- or two-digit number;
- but never before `と、，,`: a quotation continues ("「…。」と言った", "« … ? », a-t-il dit").
Thai and Lao have no sentence punctuation and put a space between phrases, so a line of theirs longer
than `UNPUNCTUATED_SOFT_CHARS` is cut at the space nearest its middle, recursively. Finally no
sentence is longer than `max_chars` (`MAX_SENTENCE_CHARS`): a longer piece (a 100 kB line without
punctuation) is cut at the last space or tab in the second half of the allowance, else hard (never
between a letter and its combining marks).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from xlmforge.core.languages import language
from xlmforge.core.scripts import SCRIPT_INDEX, char_stats, code_points, scripts_of

#: Hard cap on the characters of one sentence; 1,000 is ~8x a median news sentence in any script.
MAX_SENTENCE_CHARS = 1000
#: Thai/Lao lines longer than this are cut at spaces. NTREX Thai sentences have a median of 107
#: characters; 160 keeps most single-sentence lines whole and cuts paragraphs (see the benchmark doc).
UNPUNCTUATED_SOFT_CHARS = 160

#: Scripts that separate phrases and sentences, not words, with spaces and have no full stop.
SPACE_SEPARATED_SCRIPTS = frozenset({"Thai", "Laoo"})
_UNAMBIGUOUS_TERMINATORS = "。！？｡।॥؟۔።፧፨։။།។"
_AMBIGUOUS_TERMINATORS = ".!?…‽"
_CLOSERS = "\"'”’»«›)\\]}」』）》〉"
# French sets "»" off with a (no-break) space: ". »" closes the sentence like ".»".
_SPACED_CLOSER = r"(?:\s+»)"
_CONTINUATIONS = "と、，,"
_LINE = re.compile(r"[^\n\r\u2028\u2029\x0b\x0c\x85]+")
_CJK_SCRIPTS = frozenset(SCRIPT_INDEX[name] for name in ("Hani", "Hira", "Kana"))

# Small per-language lists of abbreviations that are followed by a capitalised word or a number
# (titles, "No. 5", months); lower case, without the final dot. Abbreviations that often end a
# sentence ("etc.", "usw.") are left out on purpose: a missed split costs less than a wrong one.
ABBREVIATIONS: dict[str, frozenset[str]] = {
    "eng": frozenset("mr mrs ms dr prof st jr sr sen sens rep reps gov gen lt col sgt capt maj cmdr adm rev hon pres"
                     " no nos vs fig vol approx dept mt ft jan feb mar apr jun jul aug sep sept oct nov dec".split()),
    "deu": frozenset("dr prof nr str vgl bzw ca sog ggf evtl inkl bzgl hr fr abs st jh mio mrd tsd".split()),
    "fra": frozenset("m mm mme mmes mlle dr pr st ste av bd cf env p".split()),
    "spa": frozenset("sr sra srta sres dr dra ud uds av pág núm aprox".split()),
    "ita": frozenset("sig sigg dott prof avv ing pag art on".split()),
    "por": frozenset("sr sra srs dr dra prof av pág".split()),
    "nld": frozenset("dhr mevr mr dr prof ca nr blz".split()),
    "pol": frozenset("np tzn tj ok prof dr inż mgr ul św godz r tys mln mld wg nr pt".split()),
    "rus": frozenset("г гг др пр им ул д стр см тыс млн млрд руб коп проф акад ген".split()),
    "ukr": frozenset("р рр ім вул див тис млн млрд грн проф ген м пр".split()),
    "srp": frozenset("г др проф бр тзв нпр ул св".split()),
    "tur": frozenset("dr prof doç av örn sn no".split()),
    "ell": frozenset("κα δηλ αρ χλμ εκατ".split()),
}  # fmt: skip

# Languages that write ordinal numbers as "3." ("am 3. Oktober"), so a short number before "." is no end.
_ORDINAL_DOT_LANGUAGES = frozenset("deu pol ces slk slv hrv srp bos hun fin est lav dan nob isl tur".split())
_TOKEN_BEFORE = re.compile(r"(\S+)\Z")
_NON_SPACE = re.compile(r"\S")
_LONGEST_ABBREVIATION = 16  # characters looked at before a ".": keeps long lines linear


@functools.cache
def _terminator_pattern(lang: str) -> re.Pattern[str]:
    ambiguous = _AMBIGUOUS_TERMINATORS + (";" if lang == "ell" else "")
    return re.compile(
        f"([{re.escape(_UNAMBIGUOUS_TERMINATORS)}][{re.escape(_UNAMBIGUOUS_TERMINATORS + ambiguous)}]*"
        f"|፡፡|[{re.escape(ambiguous)}]+)(?:[{re.escape(_CLOSERS)}]|{_SPACED_CLOSER})*"
    )


def _is_cjk(char: str) -> bool:
    """Whether `char` is a Han, Hiragana or Katakana letter."""
    return int(scripts_of(code_points(char))[0]) in _CJK_SCRIPTS


def _is_abbreviation(line: str, period: int, lang: str) -> bool:
    """Whether the "." at `period` closes an abbreviation, initial, dotted acronym or ordinal."""
    match = _TOKEN_BEFORE.search(line, max(0, period - _LONGEST_ABBREVIATION), period)
    if match is None:
        return False
    token = match.group(1).lstrip("\"'“‘«„([{").casefold()
    if len(token) == 1 and token.isalpha():
        return True
    if "." in token and all(len(part) <= 2 for part in token.split(".")):  # "U.S", "z.B", "т.е"
        return True
    if lang in _ORDINAL_DOT_LANGUAGES and token.isdigit() and len(token) <= 2:
        return True
    return token in ABBREVIATIONS.get(lang, frozenset())


def _punctuation_cuts(line: str, lang: str) -> list[int]:
    """Offsets inside `line` after which a sentence ends."""
    cuts = []
    for match in _terminator_pattern(lang).finditer(line):
        end = match.end()
        if end >= len(line):
            break
        following = _NON_SPACE.search(line, end)
        if following is None or following.group() in _CONTINUATIONS:
            continue
        if match.group(1)[0] not in _UNAMBIGUOUS_TERMINATORS + "፡":
            if not line[end].isspace():
                # Chinese and Japanese text also ends sentences with ASCII "?!." and no space.
                if not _is_cjk(line[end]):
                    continue
            if following.group().islower():
                continue
            # A closing quote after the dot marks a sentence end even after "no" or "Mr".
            if match.group(0) == "." and _is_abbreviation(line, match.start(), lang):
                continue
        cuts.append(end)
    return cuts


def _space_cuts(line: str, start: int, end: int, soft_chars: int) -> list[int]:
    """Cuts at the spaces nearest the middle of `line[start:end]`, until pieces fit `soft_chars`."""
    if end - start <= soft_chars:
        return []
    middle = (start + end) // 2
    left = line.rfind(" ", start + 1, middle + 1)
    right = line.find(" ", middle, end - 1)
    candidates = [c for c in (left, right) if c > start]
    if not candidates:
        return []
    cut = min(candidates, key=lambda c: abs(c - middle))
    return [*_space_cuts(line, start, cut, soft_chars), cut, *_space_cuts(line, cut, end, soft_chars)]


def _capped_cuts(line: str, start: int, end: int, max_chars: int) -> list[int]:
    """Cuts that keep every piece of `line[start:end]` within `max_chars` characters."""
    cuts = []
    while end - start > max_chars:
        limit = start + max_chars
        cut = max(line.rfind(" ", start + max_chars // 2, limit), line.rfind("\t", start + max_chars // 2, limit))
        if cut <= start:
            cut = limit
            # Do not separate a base character from its combining marks (Devanagari, Thai...).
            while cut > start + 1 and unicodedata.category(line[cut])[0] == "M":
                cut -= 1
        cuts.append(cut)
        start = cut
    return cuts


def sentence_spans(text: str, lang: str, *, max_chars: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, without surrounding whitespace."""
    if max_chars < 2:
        raise ValueError(f"max_chars must be at least 2, got {max_chars}")
    language(lang)  # ValueError naming the valid codes: "en" for "eng" would lose the abbreviations
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text)]
    if not lines:
        return []
    scripts = char_stats([text[a:b] for a, b in lines]).dominant_script()
    spans = []
    for (line_start, line_end), script in zip(lines, scripts, strict=True):
        line = text[line_start:line_end]
        bounds = [0, *_punctuation_cuts(line, lang), len(line)]
        cuts = []
        for start, end in zip(bounds, bounds[1:]):
            if script in SPACE_SEPARATED_SCRIPTS:
                inner = [start, *_space_cuts(line, start, end, UNPUNCTUATED_SOFT_CHARS), end]
            else:
                inner = [start, end]
            for a, b in zip(inner, inner[1:]):
                cuts.extend([a, *_capped_cuts(line, a, b, max_chars)])
        cuts.append(len(line))
        for a, b in zip(cuts, cuts[1:]):
            piece = line[a:b]
            stripped = piece.strip()
            if stripped:
                offset = line_start + a + len(piece) - len(piece.lstrip())
                spans.append((offset, offset + len(stripped)))
    return spans


def split_sentences(text: str, lang: str, *, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """The sentences of `text` (ISO 639-3 `lang`), stripped, none empty or over `max_chars`."""
    return [text[a:b] for a, b in sentence_spans(text, lang, max_chars=max_chars)]
