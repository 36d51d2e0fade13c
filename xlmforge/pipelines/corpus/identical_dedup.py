"""Identical copies: the same normalized text under the same declared language, dropped before
language identification.

Every copy of such a text gets the same language verdict and the same filter verdicts, so keeping
one (the smallest segment id) loses nothing and the text is identified once. Copies that differ in
case, punctuation or spacing are not identical: they are identified and filtered one by one, and
exact deduplication then keeps one of those that passed, so a shouting or mislabelled copy cannot
take a clean one down with it.

A text found in `boilerplate_documents` different documents (cookie notices, navigation lines,
footers) is boilerplate: every copy is dropped, under `boilerplate`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import xxhash

from xlmforge.pipelines.common.dedup import Boilerplate, DropDuplicateKeys
from xlmforge.pipelines.common.parts import StageTransform

STAGE = "identical_dedup"
REASON = "identical_copy"


def _hashes(first: pa.Array, second: pa.Array) -> np.ndarray:
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(f"{a}\0{b}".encode()) for a, b in zip(first.to_pylist(), second.to_pylist())),
        np.uint64,
        len(first),
    )


def copy_keys(batch: pa.RecordBatch) -> np.ndarray:
    """A hash of each segment's declared language and text."""
    return _hashes(batch.column("lang"), batch.column("text"))


def document_keys(batch: pa.RecordBatch) -> np.ndarray:
    """A hash of the document each segment comes from."""
    return _hashes(batch.column("source"), batch.column("doc_id"))


class DropIdenticalCopies(StageTransform):
    """Keep one copy of each text under each declared language; drop every copy of boilerplate."""

    stage = STAGE

    def expand(self, parts):
        spread = self.config.boilerplate_documents
        keep_one = DropDuplicateKeys(
            copy_keys, self.config.num_partitions, self.stage_name, REASON, self.layout,
            boilerplate=Boilerplate(document_keys, spread) if spread else None,
        )  # fmt: skip
        return parts | "KeepOneCopy" >> keep_one
