"""Helpers for Beam stage tests: parts written from rows, and their contents read back."""

from __future__ import annotations

import os

import pyarrow as pa

from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.parts import ArrowFileWriter, Part, read_batches
from xlmforge.pipelines.common.rows import segment_id
from xlmforge.schemas.records import REJECT_SCHEMA, SEGMENT_SCHEMA


def write_part(layout: BuildLayout, part_id: str, texts: list[str], lang: str = "deu", stage: str = "input") -> Part:
    """A part of one document whose segments are `texts`."""
    rows = [
        {
            "segment_id": segment_id(part_id, "doc", i),
            "source": part_id,
            "doc_id": "doc",
            "position": i,
            "lang": lang,
            "text": text,
        }
        for i, text in enumerate(texts)
    ]
    path = layout.part(stage, part_id)
    with ArrowFileWriter(path, SEGMENT_SCHEMA) as writer:
        writer.write(pa.RecordBatch.from_pylist(rows, schema=SEGMENT_SCHEMA))
    return Part(part_id, path, len(rows))


def rows_of(path: str, schema: pa.Schema = SEGMENT_SCHEMA) -> list[dict]:
    return [row for batch in read_batches(path, schema) for row in batch.to_pylist()]


def rejects_of(layout: BuildLayout, stage: str, part_id: str) -> list[dict]:
    path = layout.rejected(stage, part_id)
    return rows_of(path, REJECT_SCHEMA) if os.path.exists(path) else []
