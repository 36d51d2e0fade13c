"""Building segment and reject record batches row by row, and the stable segment id."""

from __future__ import annotations

import pyarrow as pa
import xxhash

from schemas.records import REJECT_SCHEMA, SEGMENT_SCHEMA


def segment_id(source: str, doc_id: str, position: int) -> int:
    """A stable 64-bit id from where the segment comes from (the same on every machine and run)."""
    return xxhash.xxh3_64_intdigest(f"{source}\0{doc_id}\0{position}".encode())


class SegmentBatchBuilder:
    """Accumulates rows column by column and hands them out as record batches."""

    def __init__(self, rejects: bool = False):
        self.schema = REJECT_SCHEMA if rejects else SEGMENT_SCHEMA
        self._columns: dict[str, list] = {name: [] for name in self.schema.names}

    def __len__(self) -> int:
        return len(self._columns["segment_id"])

    def add(self, segment_id: int, source: str, doc_id: str, position: int, lang: str, text: str, **rest) -> None:
        row = {
            "segment_id": segment_id,
            "source": source,
            "doc_id": doc_id,
            "position": position,
            "lang": lang,
            "text": text,
            **rest,
        }
        for name, values in self._columns.items():
            values.append(row.get(name))

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self._columns, schema=self.schema)
        self._columns = {name: [] for name in self.schema.names}
        return batch
