"""Building record batches row by row, and the stable record id."""

from __future__ import annotations

import pyarrow as pa
import xxhash


def segment_id(source: str, doc_id: str, position: int) -> int:
    """A stable 64-bit id from where a record comes from (the same on every machine and run)."""
    return xxhash.xxh3_64_intdigest(f"{source}\0{doc_id}\0{position}".encode())


class RowBatcher:
    """Accumulates rows of `schema` column by column and hands them out as record batches."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self._columns: dict[str, list] = {name: [] for name in schema.names}

    def __len__(self) -> int:
        return len(next(iter(self._columns.values())))

    def add(self, **row) -> None:
        for name, values in self._columns.items():
            values.append(row.get(name))

    def extend(self, columns: dict[str, list]) -> None:
        """Many rows at once, column by column (columns not given are null)."""
        num_rows = len(next(iter(columns.values())))
        for name, values in self._columns.items():
            values.extend(columns[name] if name in columns else [None] * num_rows)

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self._columns, schema=self.schema)
        self._columns = {name: [] for name in self.schema.names}
        return batch
