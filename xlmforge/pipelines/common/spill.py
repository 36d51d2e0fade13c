"""Arrays that cross a shuffle travel in work files; the shuffle carries only references to them.

Deduplication shuffles keys per record. Grouped by the runner, they would be held in its memory
(the direct runner keeps every grouped PCollection there), so a build's memory would grow with its
input. Written to a work file instead, one record batch per destination, the runner groups a few
bytes per (part, destination) and each consumer reads just its batches. A file is named by what
writes it, and its batches come in an order of the writer's own, never the runner's arrival order:
a retried (or duplicated) bundle then rewrites the same file with the same bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable
from typing import TypeVar

import pyarrow as pa

from xlmforge.core import storage

Key = TypeVar("Key")


@dataclasses.dataclass(frozen=True, slots=True)
class SpilledBatch:
    """Record batch number `index` of the Arrow file at `path`."""

    path: str
    index: int

    def load(self) -> pa.RecordBatch:
        # Read, not memory-mapped: the batch outlives the open file.
        with storage.open_read(self.path) as f, pa.ipc.open_file(f) as reader:
            return reader.get_batch(self.index)


def spill(path: str, batches: Iterable[tuple[Key, pa.RecordBatch]]) -> list[tuple[Key, SpilledBatch]]:
    """Write the batches (all of one schema) to one file at `path` as they come, so that only one is held
    at a time; (key, reference) for each batch. No batches, no file."""
    spilled: list[tuple[Key, SpilledBatch]] = []
    with contextlib.ExitStack() as open_file:
        for key, batch in batches:
            if not spilled:
                out = open_file.enter_context(storage.atomic_write(path, durable=False))
                writer = open_file.enter_context(pa.ipc.new_file(out, batch.schema))
            writer.write_batch(batch)
            spilled.append((key, SpilledBatch(path, len(spilled))))
    return spilled
