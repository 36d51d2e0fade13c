"""Shard files of one format: Arrow IPC and WebDataset tar, written atomically and hashed as written.

Both are byte-for-byte reproducible: Arrow IPC files carry only the schema's metadata (no time), and
tar members get a fixed mtime, owner and mode, names from the shard's position, and contents that
are numpy arrays and sorted-key JSON. The sha256 and size are taken from the bytes as they are
written, so a shard on an object store is never read back to be hashed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from contextlib import AbstractContextManager
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import webdataset as wds

from xlmforge.core import storage

ARROW, WEBDATASET = "arrow", "webdataset"
EXTENSIONS = {ARROW: "arrow", WEBDATASET: "tar"}


@dataclasses.dataclass(frozen=True, slots=True)
class FileDigest:
    num_bytes: int
    sha256: str
    num_samples: int | None = None  # WebDataset samples


class _HashingSink:
    """A write-only stream that hashes and counts what passes through it."""

    def __init__(self, target: BinaryIO):
        self._target, self._sha256, self.num_bytes = target, hashlib.sha256(), 0
        self.closed = False

    def write(self, data) -> int:
        self._sha256.update(data)
        self.num_bytes += len(data)
        self._target.write(data)
        return len(data)

    def tell(self) -> int:
        return self.num_bytes

    def flush(self) -> None:
        pass

    def digest(self, num_samples: int | None = None) -> FileDigest:
        return FileDigest(self.num_bytes, self._sha256.hexdigest(), num_samples)


class _AtomicShardFile:
    """A shard file under a temporary name, renamed into place by `close`."""

    def __init__(self, path: str):
        self.path = path
        # Not flushed to disk file by file: the build flushes once, before it writes the manifest.
        self._file: AbstractContextManager[BinaryIO] = storage.atomic_write(path, durable=False)
        self.sink = _HashingSink(self._file.__enter__())

    def _finish(self, error: BaseException | None) -> None:
        if error is None:
            self._file.__exit__(None, None, None)
        else:
            self._file.__exit__(type(error), error, error.__traceback__)


class ArrowShardFile(_AtomicShardFile):
    """An Arrow IPC file of shard records, one record batch per write."""

    def __init__(self, path: str, schema: pa.Schema):
        super().__init__(path)
        self._writer = pa.ipc.new_file(self.sink, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> FileDigest:
        self._writer.close()
        self._finish(None)
        return self.sink.digest()

    def abort(self, error: BaseException) -> None:
        self._finish(error)


class WebDatasetShardFile(_AtomicShardFile):
    """A WebDataset tar whose samples pack `records_per_sample` consecutive records (schemas/shards.py)."""

    def __init__(self, path: str, schema: pa.Schema, key_prefix: str, records_per_sample: int):
        super().__init__(path)
        self._tar = wds.TarWriter(self.sink, encoder=False, mtime=0, user="xlmforge", group="xlmforge", mode=0o444)
        self.key_prefix, self.records_per_sample, self.schema = key_prefix, records_per_sample, schema
        self._pending: list[pa.RecordBatch] = []
        self._num_pending = self.num_samples = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._num_pending += batch.num_rows
        if self._num_pending >= self.records_per_sample:
            pending = pa.Table.from_batches(self._pending, self.schema)
            num_full = pending.num_rows // self.records_per_sample * self.records_per_sample
            for start in range(0, num_full, self.records_per_sample):
                self._write_sample(pending.slice(start, self.records_per_sample))
            self._pending = pending.slice(num_full).to_batches()
            self._num_pending = pending.num_rows - num_full

    def _write_sample(self, records: pa.Table) -> None:
        sample = packed_sample(records)
        sample["__key__"] = f"{self.key_prefix}-{self.num_samples:06d}"
        self._tar.write(sample)
        self.num_samples += 1

    def close(self) -> FileDigest:
        if self._num_pending:
            self._write_sample(pa.Table.from_batches(self._pending, self.schema))
        self._tar.close()
        self._finish(None)
        return self.sink.digest(self.num_samples)

    def abort(self, error: BaseException) -> None:
        self._finish(error)


def open_shard_file(
    fmt: str, path: str, schema: pa.Schema, key_prefix: str, records_per_sample: int
) -> ArrowShardFile | WebDatasetShardFile:
    """A shard file of format `fmt`; WebDataset sample keys are `<key_prefix>-<n>`."""
    if fmt == ARROW:
        return ArrowShardFile(path, schema)
    return WebDatasetShardFile(path, schema, key_prefix, records_per_sample)


def packed_sample(records: pa.Table) -> dict[str, bytes]:
    """One WebDataset sample holding consecutive records as flat token arrays plus offsets."""
    if "tokens" in records.column_names:
        tokens, offsets = _flat(records.column("tokens"))
        meta = {
            "lang": records.column("lang")[0].as_py(),
            "doc_ids": records.column("doc_id").to_pylist(),
            "positions": records.column("position").to_pylist(),
        }
        arrays = {"tokens.npy": tokens, "offsets.npy": offsets, "ids.npy": _ids(records, "segment_id")}
    else:
        src, src_offsets = _flat(records.column("src_tokens"))
        tgt, tgt_offsets = _flat(records.column("tgt_tokens"))
        meta = {"src_lang": records.column("src_lang")[0].as_py(), "tgt_lang": records.column("tgt_lang")[0].as_py()}
        arrays = {"src.npy": src, "src_offsets.npy": src_offsets, "tgt.npy": tgt, "tgt_offsets.npy": tgt_offsets}
        arrays["ids.npy"] = _ids(records, "pair_id")
    sample = {name: _npy(array) for name, array in arrays.items()}
    sample["json"] = json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return sample


def _flat(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Flat token ids and int64 offsets (starting at 0) of a list column."""
    lists = column.combine_chunks()
    offsets = lists.offsets.to_numpy().astype(np.int64)
    return lists.flatten().to_numpy(), offsets - offsets[0]


def _ids(records: pa.Table, name: str) -> np.ndarray:
    return records.column(name).to_numpy().astype(np.uint64)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
