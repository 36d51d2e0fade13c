"""Benchmark inputs for the shard build: lines by language, written directly as a corpus build directory.

The lines come from bench/data_quality.distinct_lines_by_language (every distinct line of
../shared/data once, under its language). `with_duplicates_by_language` plants copies at stated rates
with corpus_input.with_duplicates, language by language, so that a language's copies are of its own
lines; `sample_by_language` takes the same share of every language, so that smaller inputs keep the
language mix. `write_corpus` writes what a corpus build would have written: one segments file per
language (documents of `DOC_LINES` consecutive lines) and the corpus.json that counts them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa

from bench.corpus_input import describe, with_duplicates
from xlmforge.pipelines.common.parts import BATCH_ROWS, ArrowFileWriter
from xlmforge.pipelines.common.rows import segment_id
from xlmforge.schemas.records import SEGMENT_SCHEMA

SOURCE = "bench"
DOC_LINES = 20


def sample_by_language(lines_by_lang: dict[str, list[str]], fraction: float) -> dict[str, list[str]]:
    """The same seeded random `fraction` of every language's lines; a smaller fraction is a prefix of a larger."""
    return {lang: with_duplicates(lines, 0, 0)[: round(fraction * len(lines))] for lang, lines in lines_by_lang.items()}


def with_duplicates_by_language(
    lines_by_lang: dict[str, list[str]], exact: float, near: float, seed: int = 0
) -> dict[str, list[str]]:
    """Every language's lines with exact and near copies of its own lines planted at the stated rates."""
    return {lang: with_duplicates(lines, exact, near, seed) for lang, lines in lines_by_lang.items()}


def describe_corpus(lines_by_lang: dict[str, list[str]]) -> dict:
    """Lines, MB and duplicate rates of the whole input (corpus_input.describe), and its languages."""
    lines = [line for lang_lines in lines_by_lang.values() for line in lang_lines]
    return {
        **describe(lines).to_dict(),
        "exact_duplicate_rate": round(1 - len(set(lines)) / len(lines), 4),
        "num_languages": len(lines_by_lang),
        "lines_by_lang": {lang: len(lang_lines) for lang, lang_lines in lines_by_lang.items()},
    }


def write_corpus(lines_by_lang: dict[str, list[str]], dest: Path) -> Path:
    """`dest` as a finished corpus build of these segments (one file per language); returns `dest`."""
    shutil.rmtree(dest, ignore_errors=True)
    for lang, lines in lines_by_lang.items():
        path = dest / "segments" / f"lang={lang}" / "part-000.arrow"
        with ArrowFileWriter(str(path), SEGMENT_SCHEMA) as writer:
            for start in range(0, len(lines), BATCH_ROWS):
                rows = [_segment(lang, i, lines[i]) for i in range(start, min(start + BATCH_ROWS, len(lines)))]
                writer.write(pa.RecordBatch.from_pylist(rows, schema=SEGMENT_SCHEMA))
    counts = {lang: len(lines) for lang, lines in lines_by_lang.items()}
    (dest / "corpus.json").write_text(json.dumps({"kind": "xlmforge.corpus", "segments_by_lang": counts}))
    return dest


def _segment(lang: str, i: int, text: str) -> dict:
    doc_id, position = f"{lang}-{i // DOC_LINES}", i % DOC_LINES
    return {"segment_id": segment_id(SOURCE, doc_id, position), "source": SOURCE, "doc_id": doc_id,
            "position": position, "lang": lang, "text": text}  # fmt: skip
