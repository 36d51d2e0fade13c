"""Write shards: the encoded records of each (kind, language or pair, split), cut into numbered shards.

Only the small EncodedPart descriptors go through the shuffle that gathers a sequence; one worker
then streams the sequence's files in input order (document order) into shard files of every
configured format at once, closing a shard when its records reach the target size, so shard n of
the Arrow and WebDataset formats holds the same records. Shard boundaries depend only on the records
and the config, never on the runner or the number of workers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xlmforge.core import storage
from xlmforge.pipelines.common.ledger import IN, KEPT
from xlmforge.pipelines.common.parts import StageCounter, read_batches
from xlmforge.pipelines.shards.config import ShardFilesConfig
from xlmforge.pipelines.shards.encode import EncodedPart, shard_schema
from xlmforge.pipelines.shards.files import EXTENSIONS, FileDigest, open_shard_file
from xlmforge.pipelines.shards.layout import ShardsLayout, shard_path
from xlmforge.schemas.manifest import ShardInfo

STAGE = "write"
_LENGTH_BYTES = 4  # an int32 offset per list or string value


def record_bytes(batch: pa.RecordBatch) -> np.ndarray:
    """The bytes each record takes in Arrow buffers: what a shard's target size counts."""
    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    for field, column in zip(batch.schema, batch.columns):
        if pa.types.is_list(field.type):
            lengths = np.diff(column.offsets.to_numpy())
            sizes += lengths * field.type.value_type.byte_width + _LENGTH_BYTES
        elif pa.types.is_string(field.type):
            sizes += pc.binary_length(column).to_numpy(zero_copy_only=False) + _LENGTH_BYTES
        else:
            sizes += field.type.byte_width
    return sizes


class ShardSequence(NamedTuple):
    """The records that go into one numbered series of shards."""

    kind: str  # mono | bitext
    key: str  # language code, or "src-tgt"
    split: str

    def shard_path(self, index: int, fmt: str) -> str:
        return shard_path(self.kind, self.key, self.split, index, EXTENSIONS[fmt])


def num_tokens(batch: pa.RecordBatch | pa.Table) -> int:
    return sum(len(batch.column(name).flatten()) for name in batch.column_names if name.endswith("tokens"))


class _OpenShard:
    """Shard n of a sequence, in every format, with its running counts."""

    def __init__(
        self, layout: ShardsLayout, sequence: ShardSequence, index: int, config: ShardFilesConfig, schema: pa.Schema
    ):
        self.index, self.num_records, self.num_tokens, self.num_bytes = index, 0, 0, 0
        prefix = f"{sequence.key}-{sequence.split}-{index:05d}"  # WebDataset sample keys, unique in a build
        self.files = {
            fmt: open_shard_file(
                fmt,
                storage.join(layout.root, sequence.shard_path(index, fmt)),
                schema,
                prefix,
                config.records_per_sample,
            )
            for fmt in config.formats
        }

    def write(self, batch: pa.RecordBatch, num_bytes: int) -> None:
        for file in self.files.values():
            file.write(batch)
        self.num_records += batch.num_rows
        self.num_tokens += num_tokens(batch)
        self.num_bytes += num_bytes

    def close(self) -> dict[str, FileDigest]:
        return {fmt: file.close() for fmt, file in self.files.items()}

    def abort(self, error: BaseException) -> None:
        for file in self.files.values():
            file.abort(error)


class ShardSequenceWriter:
    """Cuts one sequence of records into shards of about `config.target_bytes` each."""

    def __init__(self, layout: ShardsLayout, sequence: ShardSequence, config: ShardFilesConfig, schema: pa.Schema):
        self.layout, self.sequence, self.config, self.schema = layout, sequence, config, schema
        self.shards: list[ShardInfo] = []  # every format of every closed shard
        self.num_shards = 0
        self._open: _OpenShard | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        cumulative = np.cumsum(record_bytes(batch))
        start = 0
        while start < batch.num_rows:
            if self._open is None:
                self._open = _OpenShard(self.layout, self.sequence, self.num_shards, self.config, self.schema)
                self.num_shards += 1
            before = cumulative[start - 1] if start else 0
            # Take records up to and including the one that brings the shard to its target.
            need = self.config.target_bytes - self._open.num_bytes + before
            end = min(int(np.searchsorted(cumulative, need)) + 1, batch.num_rows)
            self._open.write(batch.slice(start, end - start), int(cumulative[end - 1] - before))
            if self._open.num_bytes >= self.config.target_bytes:
                self._close_open()
            start = end

    def _close_open(self) -> None:
        shard, self._open = self._open, None
        sequence = self.sequence
        for fmt, digest in shard.close().items():
            self.shards.append(
                ShardInfo(
                    path=sequence.shard_path(shard.index, fmt),
                    format=fmt,
                    kind=sequence.kind,
                    lang=sequence.key,
                    split=sequence.split,
                    num_records=shard.num_records,
                    num_tokens=shard.num_tokens,
                    num_bytes=digest.num_bytes,
                    sha256=digest.sha256,
                    num_samples=digest.num_samples,
                )
            )

    def close(self) -> list[ShardInfo]:
        if self._open is not None:
            self._close_open()
        return self.shards

    def abort(self, error: BaseException) -> None:
        if self._open is not None:
            self._open.abort(error)


@dataclasses.dataclass(frozen=True)
class WrittenSequence:
    """The shards of one sequence, its ledger counts and, for the train split, its token frequencies."""

    shards: tuple[ShardInfo, ...]
    counts: tuple[tuple[tuple[str, str, str], int], ...]
    token_counts: np.ndarray | None


class _WriteSequence(beam.DoFn):
    def __init__(self, layout: ShardsLayout, config: ShardFilesConfig, vocab_size: int):
        self.layout, self.config, self.vocab_size = layout, config, vocab_size

    def process(self, element: tuple[tuple[str, str, str], Iterable[EncodedPart]]) -> Iterator[WrittenSequence]:
        sequence, parts = ShardSequence(*element[0]), element[1]
        schema = shard_schema(sequence.kind, self.vocab_size)
        counter = StageCounter(STAGE)
        is_train = sequence.split == "train"
        token_counts = np.zeros(self.vocab_size, dtype=np.int64) if is_train else None
        writer = ShardSequenceWriter(self.layout, sequence, self.config, schema)
        try:
            for part in sorted(parts, key=lambda p: p.part_id):  # input order, whatever order the shuffle gave
                for batch in read_batches(part.path, schema):
                    counter.counts[(STAGE, part.key, IN)] += batch.num_rows
                    writer.write(batch)
                    counter.counts[(STAGE, part.key, KEPT)] += batch.num_rows
                    if is_train:
                        token_counts += count_token_ids(batch, self.vocab_size)
            shards = writer.close()
        except BaseException as err:
            writer.abort(err)
            raise
        yield WrittenSequence(tuple(shards), counter.frozen(), token_counts)


def count_token_ids(batch: pa.RecordBatch, vocab_size: int) -> np.ndarray:
    """How often each token id occurs in the batch (every side)."""
    counts = np.zeros(vocab_size, dtype=np.int64)
    for name in batch.schema.names:
        if name.endswith("tokens"):
            counts += np.bincount(batch.column(name).flatten().to_numpy(), minlength=vocab_size)
    return counts


def _sequence_of(part: EncodedPart) -> tuple[tuple[str, str, str], EncodedPart]:
    return (part.kind, part.key, part.split), part  # a plain tuple: Beam has a deterministic coder for it


class WriteShards(beam.PTransform):
    """Gather each sequence's encoded parts and write its shards: one WrittenSequence per sequence."""

    def __init__(self, layout: ShardsLayout, config: ShardFilesConfig, vocab_size: int):
        super().__init__()
        self.layout, self.config, self.vocab_size = layout, config, vocab_size

    def expand(self, parts):
        return (
            parts
            | "KeyBySequence" >> beam.Map(_sequence_of)
            | "GatherSequence" >> beam.GroupByKey()  # descriptors only, a few per input file
            | "WriteSequenceShards" >> beam.ParDo(_WriteSequence(self.layout, self.config, self.vocab_size))
        )
