"""Bitext records: sentence pairs, from bitext files or aligned document pairs, for TLM.

The corpus build writes them under `bitext/pair=<src>-<tgt>/<part>.arrow`, where `src` and `tgt`
are the project language codes of the pair as the corpus config declares it.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa

from xlmforge.schemas.records import versioned_schema

BITEXT_SCHEMA = versioned_schema(
    "bitext",
    [
        pa.field("pair_id", pa.uint64(), nullable=False),  # xxh3_64 of (source, doc_id, position)
        pa.field("source", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),  # the file, or the document pair that was aligned
        pa.field("position", pa.int32(), nullable=False),  # line number, or index of the bead in the alignment
        pa.field("src_lang", pa.string(), nullable=False),
        pa.field("tgt_lang", pa.string(), nullable=False),
        pa.field("src_text", pa.string(), nullable=False),
        pa.field("tgt_text", pa.string(), nullable=False),
        pa.field("bead", pa.string()),  # "1-1", "2-1", ... for aligned document pairs; null for bitext files
        pa.field("score", pa.float32()),  # alignment score of the bead (higher is better); null for bitext files
    ],
)


@dataclasses.dataclass(frozen=True, slots=True)
class BitextPair:
    """One row of BITEXT_SCHEMA."""

    pair_id: int
    source: str
    doc_id: str
    position: int
    src_lang: str
    tgt_lang: str
    src_text: str
    tgt_text: str
    bead: str | None = None
    score: float | None = None
