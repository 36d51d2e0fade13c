"""Words typed in two scripts: Latin letters that look Cyrillic inside Cyrillic words, and back.

Web text mixes them — a Latin keyboard's "o", "a", "e" in Serbian or Russian words, a Cyrillic "а"
in a Latin brand name — and such words are new words to language ID, deduplication and the
vocabulary: a quarter of NTREX's Serbian lines have them, and lid.176 reads most of those as Russian
or Ukrainian. A word holding letters of both scripts is rewritten, lookalike by lookalike, in the
script of its letters that have no twin (else in the script most of its letters are in); words in
one script are left alone.
"""

from __future__ import annotations

import re

# Latin letters and their Cyrillic twins (same shape in common fonts).
_LATIN = "aceijopsxyABCEHIJKMOPSTXY"
_CYRILLIC = "асеіјорѕхуАВСЕНІЈКМОРЅТХУ"
_TO_CYRILLIC = str.maketrans(_LATIN, _CYRILLIC)
_TO_LATIN = str.maketrans(_CYRILLIC, _LATIN)

_MIXED_WORD = re.compile(r"[^\W\d_]*(?:[A-Za-z][^\W\d_]*[\u0400-\u04FF]|[\u0400-\u04FF][^\W\d_]*[A-Za-z])[^\W\d_]*")
_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04FF]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def _one_script(match: re.Match) -> str:
    word = match.group()
    cyrillic, latin = _CYRILLIC_LETTER.findall(word), _LATIN_LETTER.findall(word)
    # A letter without a twin decides the script ("дeo" is Cyrillic); else the majority does.
    only_cyrillic = any(c not in _CYRILLIC for c in cyrillic)
    only_latin = any(c not in _LATIN for c in latin)
    if only_cyrillic != only_latin:
        to_cyrillic = only_cyrillic
    else:
        to_cyrillic = len(cyrillic) >= len(latin)
    return word.translate(_TO_CYRILLIC if to_cyrillic else _TO_LATIN)


def fold_homoglyphs(text: str) -> str:
    """`text` with each word that mixes Latin and Cyrillic letters written in its majority script."""
    if not _CYRILLIC_LETTER.search(text) or not _LATIN_LETTER.search(text):
        return text
    return _MIXED_WORD.sub(_one_script, text)
