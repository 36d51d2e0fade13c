"""The language table: project language codes, fastText lid.176 labels and the scripts of each language.

This is the one mapping between lid.176 labels and the project's codes (ISO 639-3, or the
macrolanguage code where lid.176 predicts a macrolanguage: `zho`, `ara`, `msa`, `fas`...).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from importlib import resources

import numpy as np

from xlmforge.core.scripts import CharStats


@dataclasses.dataclass(frozen=True, slots=True)
class Language:
    code: str  # ISO 639-3
    lid_label: str  # fastText lid.176 label, without the __label__ prefix; "" when lid.176 lacks it
    name: str
    scripts: frozenset[str]  # ISO 15924


@functools.cache
def languages() -> dict[str, Language]:
    """All languages the project knows, by code."""
    table = resources.files("xlmforge.core").joinpath("data/languages.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in table.splitlines() if line and not line.startswith("#"))
    return {
        code: Language(code=code, lid_label=label.strip("-"), name=name, scripts=frozenset(scripts.split(",")))
        for label, code, name, scripts in rows
    }


@functools.cache
def by_lid_label() -> dict[str, Language]:
    """All languages by their lid.176 label."""
    return {lang.lid_label: lang for lang in languages().values() if lang.lid_label}


def language(code: str) -> Language:
    """The language with project code `code`; ValueError listing the valid codes otherwise."""
    try:
        return languages()[code]
    except KeyError:
        raise ValueError(unknown_language_message(code)) from None


def unknown_language_message(code: str) -> str:
    valid = " ".join(sorted(languages()))
    return f"unknown language code {code!r}; valid codes (ISO 639-3) are: {valid}"


def own_script_share(stats: CharStats, langs: Sequence[str]) -> np.ndarray:
    """Per text, the share of its letters written in its language's scripts; 1 for a text without
    letters or of a language the table does not know."""
    share = np.ones(len(langs))
    table = languages()
    codes = np.asarray(langs, dtype=str)  # compared in numpy: a Python loop per language cost more than the shares
    for lang in set(langs) & table.keys():
        rows = codes == lang
        share[rows] = stats.script_share(table[lang].scripts)[rows]
    has_letters = stats.letters_by_script.sum(axis=1) > 0
    return np.where(has_letters, share, 1.0)
