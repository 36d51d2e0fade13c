"""Labelled examples for fine-tuning, read from TSV or JSONL and checked line by line.

A TSV file has a header row naming its columns; a JSONL file holds one object per line. Columns:
`text` and `label` always; `text_pair` for text-pair classification (XNLI-style); `lang`, the
language of the example, required in evaluation files: `xx` (every text in xx) or `xx-yy` (text in xx,
text_pair in yy, as in translation-pair detection). Whatever is wrong is a `ValueError` naming the file
and the line.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEXT, TEXT_PAIR, LABEL, LANG = "text", "text_pair", "label", "lang"
FORMATS = (".tsv", ".jsonl")
_LANG = re.compile(r"^[a-z][a-z0-9_]*(-[a-z][a-z0-9_]*)?$")


@dataclasses.dataclass(frozen=True)
class LabelledExample:
    """One example and where it was read (1-based line; a TSV header is line 1)."""

    text: str
    text_pair: str | None
    label: str
    lang: str  # "xx", or "xx-yy" for a pair whose texts differ in language
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def side_languages(self) -> tuple[str, str]:
        """The language of `text` and of `text_pair`."""
        first, _, second = self.lang.partition("-")
        return first, second or first


@dataclasses.dataclass(frozen=True)
class LabelledFile:
    """The examples of one file and whether it holds text pairs."""

    path: str
    examples: list[LabelledExample]
    has_pairs: bool

    @property
    def labels(self) -> set[str]:
        return {example.label for example in self.examples}


def read_labelled(path: str | Path, has_pairs: bool | None = None, default_lang: str | None = None) -> LabelledFile:
    """Read and check a labelled file. `has_pairs` None: pairs if the file has a text_pair column,
    else the file must match it. Without a lang column every example is in `default_lang`; with
    neither, the file is refused."""
    path = str(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: labelled data file not found")
    if not path.endswith(FORMATS):
        raise ValueError(f"{path}: expected a {' or '.join(FORMATS)} file")
    examples: list[LabelledExample] = []
    for line, columns, row in _tsv_rows(path) if path.endswith(".tsv") else _jsonl_rows(path):
        has_pairs = TEXT_PAIR in columns if has_pairs is None else has_pairs
        _check_columns(columns, f"{path}:{line}", has_pairs, default_lang)
        if row is not None:
            examples.append(_example(row, path, line, has_pairs, default_lang))
    if not examples:
        raise ValueError(f"{path}: no examples")
    return LabelledFile(path, examples, bool(has_pairs))


def _check_columns(columns: set[str], where: str, has_pairs: bool, default_lang: str | None) -> None:
    required = [TEXT, LABEL] + [TEXT_PAIR] * has_pairs + [LANG] * (default_lang is None)
    if missing := [name for name in required if name not in columns]:
        why = {TEXT_PAIR: " (the training file has text pairs)",
               LANG: " (required in evaluation files; in training files, or give the training language)"}
        raise ValueError(f"{where}: missing column {', '.join(missing)}"
                         + "".join(why.get(name, "") for name in missing))  # fmt: skip


def _example(row: dict[str, Any], path: str, line: int, has_pairs: bool, default_lang: str | None) -> LabelledExample:
    where = f"{path}:{line}"
    text, text_pair = _text(row, TEXT, where), _text(row, TEXT_PAIR, where) if has_pairs else None
    label = row[LABEL]
    if not isinstance(label, str | int) or isinstance(label, bool) or not str(label).strip():
        raise ValueError(f"{where}: label must be a non-empty string or an integer, found {label!r}")
    lang = row.get(LANG, default_lang)
    if not isinstance(lang, str) or not _LANG.match(lang):
        raise ValueError(f"{where}: lang must be a language code 'xx' or a pair 'xx-yy', found {lang!r}")
    if "-" in lang and not has_pairs:
        raise ValueError(f"{where}: lang {lang!r} names two languages but the example has one text")
    return LabelledExample(text, text_pair, str(label).strip(), lang, path, line)


def _text(row: dict[str, Any], name: str, where: str) -> str:
    value = row[name]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: empty {name}" if isinstance(value, str) or value is None
                         else f"{where}: {name} must be a string, found {value!r}")  # fmt: skip
    return value.strip()


def _tsv_rows(path: str) -> Iterator[tuple[int, set[str], dict[str, Any] | None]]:
    """(line, columns, row): the header first (row None), then the rows. No quoting, so a text may
    hold quotes but not tabs or newlines."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            header = next(reader, None)
            if header is None:
                return
            yield 1, set(header), None
            for row in reader:
                if row == []:
                    continue
                if len(row) != len(header):
                    raise ValueError(f"{path}:{reader.line_num}: {len(row)} tab-separated fields, the header has "
                                     f"{len(header)} ({', '.join(header)})")  # fmt: skip
                yield reader.line_num, set(header), dict(zip(header, row, strict=True))
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not UTF-8 text ({err})") from None


def _jsonl_rows(path: str) -> Iterator[tuple[int, set[str], dict[str, Any] | None]]:
    """(line, keys, object) for every non-blank line."""
    with open(path, encoding="utf-8") as f:
        try:
            for line, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{line}: not valid JSON ({err.msg})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}:{line}: expected a JSON object, found {type(row).__name__}")
                yield line, set(row), row
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not UTF-8 text ({err})") from None
