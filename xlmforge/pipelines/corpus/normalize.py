"""Normalize: one canonical spelling of each segment's text before anything compares or counts it.

Unicode NFC (or NFKC); terminal escape sequences (ANSI colours, cursor moves, window titles)
removed whole; other control characters turned into spaces, because in text they stand between
words (a NUL or a form feed that joined "Mit" and "Nullbyte" must not make one word of them);
format and zero-width characters removed (ZWJ and ZWNJ kept: Persian, Indic scripts and emoji need
them); whitespace collapsed to single spaces; words typed in both Latin and Cyrillic letters
rewritten in one script (homoglyphs.py). Optionally Moses-style punctuation and XLM's
lowercase + accent stripping.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

import pyarrow as pa

from xlmforge.core.languages import languages
from xlmforge.pipelines.common.parts import Decision, RewriteEachPart
from xlmforge.pipelines.corpus.config import NormalizeConfig
from xlmforge.pipelines.corpus.homoglyphs import fold_homoglyphs

STAGE = "normalize"
_KEEP_FORMAT = {"\u200c", "\u200d"}  # ZWNJ, ZWJ
# ECMA-48 escape sequences: CSI (colours, cursor), OSC (titles, links) and the other string
# controls up to their terminator, two-character escapes, and the 8-bit CSI.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)


@functools.cache
def _cleanup_table() -> dict[int, str | None]:
    """str.translate table: controls and every space to ' ', format characters and surrogates removed."""
    table: dict[int, str | None] = {}
    # Beyond the CJK extension planes only the tag block (plane 14) has controls or format characters.
    for cp in itertools.chain(range(0x323B0), range(0xE0000, 0xE1000)):
        char = chr(cp)
        category = unicodedata.category(char)
        if category.startswith("Z") or category == "Cc":
            table[cp] = " "
        elif category == "Cs" or (category == "Cf" and char not in _KEEP_FORMAT):
            table[cp] = None
    return table


@functools.cache
def _moses(lang: str):
    from sacremoses import MosesPunctNormalizer  # imported on use: slow to import, off by default

    return MosesPunctNormalizer(lang=lang)


def strip_accents_lower(text: str) -> str:
    """XLM's `lowercase_and_remove_accent`: lowercase, then drop combining marks after NFD."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def normalize_text(text: str, config: NormalizeConfig, lang: str = "en") -> str:
    """The canonical form of `text` under `config` (`lang`: a two-letter code for Moses' rules); idempotent."""
    text = cleaned = _clean(unicodedata.normalize(config.form, text), config.form)
    if config.moses_punctuation:
        text = _moses(lang).normalize(text)
    if config.lowercase_strip_accents:
        text = strip_accents_lower(text)
    # Folding comes last: stripping an accent can make a lookalike ("Ѐ" -> "е").
    if config.fold_homoglyphs:
        text = fold_homoglyphs(text)
    if text != cleaned:
        text = _clean(unicodedata.normalize(config.form, text), config.form)
    return text


def _clean(text: str, form: str) -> str:
    """Remove escapes and format characters, space out controls and collapse spaces of text already
    in normal form `form`."""
    if text.isprintable():  # no controls, format characters or exotic spaces: the common case
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            text = " ".join(text.split())
        return text
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPES.sub("", text)
    text = " ".join(text.translate(_cleanup_table()).split())
    # Removing characters can bring a base letter next to a combining mark: recompose.
    return unicodedata.normalize(form, text)


def moses_language(code: str) -> str:
    """The two-letter code Moses' punctuation rules know a project language by (English otherwise)."""
    known = languages().get(code)
    return known.lid_label if known and known.lid_label else "en"


def normalize_batch(batch: pa.RecordBatch, config: NormalizeConfig) -> Decision:
    """Normalize the text column; segments left empty are rejected."""
    moses_langs = [moses_language(code) for code in batch.column("lang").to_pylist()]
    texts = [normalize_text(t, config, lang) for t, lang in zip(batch.column("text").to_pylist(), moses_langs)]
    reasons = [None if t else "empty_after_normalization" for t in texts]
    index = batch.schema.get_field_index("text")
    return Decision(batch.set_column(index, "text", pa.array(texts, pa.string())), reasons)


class Normalizer:
    """The normalize stage's batch decider."""

    def __init__(self, config: NormalizeConfig):
        self.config = config

    def setup(self) -> None:
        _cleanup_table()  # build the table once per worker, not inside the first part's timing

    def __call__(self, batch: pa.RecordBatch) -> Decision:
        return normalize_batch(batch, self.config)


class NormalizeSegments(RewriteEachPart):
    """Bring every segment's text to its canonical form; drop segments that end up empty."""

    stage = STAGE

    def decider(self):
        return Normalizer(self.config)
