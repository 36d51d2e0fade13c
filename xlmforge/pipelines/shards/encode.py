"""Encode: each corpus file split, decontaminated and tokenized into per-split files of token ids.

One element is one input file; its batches are split by the hash of their text, training records
whose text is held out anywhere are dropped (`decontaminated`), the rest are encoded with the
SentencePiece model (loaded once per worker) and written, per split, in the shard schema and in
document order. A record that encodes to no tokens on a side is dropped (`empty_after_encoding`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence

import apache_beam as beam
import numpy as np
import pyarrow as pa
import sentencepiece as spm

from xlmforge.core import storage
from xlmforge.pipelines.common.ledger import IN, KEPT
from xlmforge.pipelines.common.parts import (
    ArrowFileWriter,
    LazyRejectsWriter,
    StageCounter,
    count_rejects,
    read_batches,
    rejects_batch,
)
from xlmforge.pipelines.shards.inputs import MONO, InputFile
from xlmforge.pipelines.shards.layout import ShardsLayout
from xlmforge.pipelines.shards.scan import load_keys
from xlmforge.pipelines.shards.splits import REASON as DECONTAMINATED
from xlmforge.pipelines.shards.splits import SPLITS, SplitPlan, contains, decontaminated
from xlmforge.schemas.shards import bitext_shard_schema, mono_shard_schema

DECONTAMINATE, ENCODE = "decontaminate", "encode"
EMPTY = "empty_after_encoding"


@dataclasses.dataclass(frozen=True, slots=True)
class EncodedPart:
    """The encoded records of one input file in one split."""

    kind: str
    key: str
    split: str
    part_id: str
    path: str
    num_records: int


def shard_schema(kind: str, vocab_size: int) -> pa.Schema:
    return mono_shard_schema(vocab_size) if kind == MONO else bitext_shard_schema(vocab_size)


def encode_texts(processor: spm.SentencePieceProcessor, texts: Sequence[str], value_type: pa.DataType) -> pa.ListArray:
    """Token ids of each text as one list array (built from flat numpy buffers, not Python lists)."""
    ids = processor.encode(list(texts), num_threads=1)  # parallelism comes from Beam workers
    offsets = np.zeros(len(ids) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, ids), dtype=np.int32, count=len(ids)), out=offsets[1:])
    values = np.fromiter(itertools.chain.from_iterable(ids), dtype=value_type.to_pandas_dtype(), count=offsets[-1])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=value_type))


def shard_rows(batch: pa.RecordBatch, tokens: Sequence[pa.ListArray], schema: pa.Schema) -> pa.RecordBatch:
    """Input records with their token ids, in the shard schema."""
    if len(tokens) == 1:
        columns = [batch.column(name) for name in ("segment_id", "lang", "doc_id", "position")]
    else:
        columns = [batch.column(name) for name in ("pair_id", "src_lang", "tgt_lang")]
    return pa.RecordBatch.from_arrays([*columns, *tokens], schema=schema)


def _matched_sides(file: InputFile, hits: Sequence[np.ndarray]) -> list[str | None]:
    """Which sides of each pair matched held-out text ("src", "tgt", "src+tgt"); None for segments."""
    if file.kind == MONO:
        return [None] * len(hits[0])
    return ["+".join(side for side, hit in zip(("src", "tgt"), row) if hit) for row in zip(*hits)]


class _StageDrops:
    """One stage on one input file: its ledger counts and its rejects file."""

    def __init__(self, stage: str, layout: ShardsLayout, file: InputFile):
        self.stage, self.records = stage, file.records
        self.counter = StageCounter(stage)
        self.rejects = LazyRejectsWriter(layout.rejected(stage, file.part_id))

    def drop(
        self, batch: pa.RecordBatch, indices: np.ndarray, reason: str, details: Sequence[str | None] | None = None
    ) -> pa.Array:
        """Reject the rows at `indices` for `reason`, count the batch; returns the mask of kept rows."""
        langs = self.records.langs(batch)
        self.counter.add(langs, IN)
        if len(indices):
            reasons, details = [reason] * len(indices), details or [None] * len(indices)
            rejected = rejects_batch(batch.take(indices), self.stage, reasons, details, self.records)
            self.rejects.write(rejected)
            count_rejects(self.counter, rejected)
        kept = np.ones(batch.num_rows, dtype=bool)
        kept[indices] = False
        self.counter.add(langs.filter(kept), KEPT)
        return pa.array(kept)


class _EncodeFile(beam.DoFn):
    def __init__(self, layout: ShardsLayout, splits: SplitPlan, vocab_size: int):
        self.layout, self.splits, self.vocab_size = layout, splits, vocab_size

    def setup(self) -> None:
        self.processor = spm.SentencePieceProcessor(model_proto=storage.read_bytes(self.layout.vocab_model))
        self.heldout = load_keys(self.layout.all_heldout_keys)

    def process(self, file: InputFile) -> Iterator[EncodedPart | beam.pvalue.TaggedOutput]:
        schema = shard_schema(file.kind, self.vocab_size)
        stages = [_StageDrops(stage, self.layout, file) for stage in (DECONTAMINATE, ENCODE)]
        writers: dict[int, ArrowFileWriter] = {}
        outputs: list = [stage.rejects for stage in stages]
        file_keys = load_keys(self.layout.split_keys(file.part_id))  # the scan's, row for row
        start = 0
        try:
            for batch in read_batches(file.path, file.records.schema):
                keys, start = file_keys[:, start : start + batch.num_rows], start + batch.num_rows
                rows, splits = self._decontaminate(file, batch, keys, stages[0])
                rows, splits = self._encode(file, rows, splits, schema, stages[1])
                for split in map(int, np.unique(splits)):
                    if split not in writers:
                        path = self.layout.encoded(file.kind, file.key, SPLITS[split], file.part_id)
                        writers[split] = ArrowFileWriter(path, schema)
                        outputs.append(writers[split])
                    writers[split].write(rows.filter(pa.array(splits == split)))
        except BaseException as err:
            for output in outputs:
                output.__exit__(type(err), err, err.__traceback__)
            raise
        for output in outputs:
            output.__exit__(None, None, None)
        for split, writer in sorted(writers.items()):
            yield EncodedPart(file.kind, file.key, SPLITS[split], file.part_id, writer.path, writer.num_rows)
        yield beam.pvalue.TaggedOutput("counts", tuple(item for stage in stages for item in stage.counter.frozen()))

    def _decontaminate(
        self, file: InputFile, batch: pa.RecordBatch, keys: np.ndarray, stage: _StageDrops
    ) -> tuple[pa.RecordBatch, np.ndarray]:
        """Split the batch by its split `keys` (one row per text side); drop training records whose text
        (any side) is held out anywhere."""
        splits = self.splits.assign(file.key, keys[0])
        dropped = np.flatnonzero(decontaminated(splits, keys, self.heldout))
        details = _matched_sides(file, [contains(self.heldout, side[dropped]) for side in keys])
        kept = stage.drop(batch, dropped, DECONTAMINATED, details)
        return batch.filter(kept), splits[kept.to_numpy(zero_copy_only=False)]

    def _encode(
        self, file: InputFile, batch: pa.RecordBatch, splits: np.ndarray, schema: pa.Schema, stage: _StageDrops
    ) -> tuple[pa.RecordBatch, np.ndarray]:
        """Token ids of every side; records with an empty side are dropped."""
        value_type = schema.field(schema.names[-1]).type.value_type
        tokens = [encode_texts(self.processor, batch.column(c).to_pylist(), value_type) for c in file.text_columns]
        empty = np.zeros(batch.num_rows, dtype=bool)
        for side in tokens:
            empty |= np.diff(side.offsets.to_numpy()) == 0
        kept = stage.drop(batch, np.flatnonzero(empty), EMPTY)
        return shard_rows(batch, tokens, schema).filter(kept), splits[~empty]


class EncodeFiles(beam.PTransform):
    """Split, decontaminate and encode every input file; main output EncodedPart, tagged output `counts`."""

    def __init__(self, layout: ShardsLayout, splits: SplitPlan, vocab_size: int):
        super().__init__()
        self.layout, self.splits, self.vocab_size = layout, splits, vocab_size

    def expand(self, files):
        return files | "SplitDecontaminateEncode" >> beam.ParDo(
            _EncodeFile(self.layout, self.splits, self.vocab_size)
        ).with_outputs("counts", main="parts")
