"""Dropping duplicates by key: the shuffle and join shared by exact and near-duplicate removal.

Each part writes compact keys (a 64-bit key and the segment id per row), hash partitioned so that
all copies of a key meet in one partition. There the smallest segment id of each key is kept and
the others are listed as duplicates; the lists go back to their parts through a join on the part
id. Keys and lists travel in work files (`pipelines.common.spill`), never texts, and no pair of segments is
ever compared outside its key group, so the cost grows linearly with the corpus. The keeper is chosen by segment
id, not by arrival order, so every runner picks the same one.

Parts of earlier builds can take part as `existing` parts: their records always win (an incremental
build deduplicates new text against the corpus it extends) and they are never rewritten.

With `min_documents`, a key found in that many different documents is boilerplate (a cookie notice,
a navigation line): every new copy is dropped, its keeper too, under `widespread_reason`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa

from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.parts import Decision, Part, RecordKind, Segments, read_batches, rewrite_part
from xlmforge.pipelines.common.spill import SpilledBatch, spill


@dataclasses.dataclass(frozen=True)
class PartKeys:
    """Keys of some rows of one part: row i of `keys` belongs to segment `segment_ids[i]`."""

    part_id: str
    keys: np.ndarray  # uint64
    segment_ids: np.ndarray  # uint64
    existing: bool = False
    documents: np.ndarray | None = None  # uint64 document hashes, when boilerplate is looked for


@dataclasses.dataclass(frozen=True)
class SpilledKeys:
    """The keys of one part in one partition, in the part's key file."""

    part_id: str
    batch: SpilledBatch
    existing: bool = False

    def load(self) -> PartKeys:
        batch = self.batch.load()
        documents = batch.column("doc").to_numpy() if "doc" in batch.schema.names else None
        return PartKeys(
            self.part_id, batch.column("key").to_numpy(), batch.column("id").to_numpy(), self.existing, documents
        )


def partition_keys(
    part: Part,
    keys: np.ndarray,
    segment_ids: np.ndarray,
    num_partitions: int,
    path: str,
    documents: np.ndarray | None = None,
) -> list[tuple[int, SpilledKeys]]:
    """Split a part's keys by key hash partition into the file at `path`, as (partition, keys) elements."""
    partitions = (keys % np.uint64(num_partitions)).astype(np.int64)
    batches = []
    for p in np.unique(partitions):
        mask = partitions == p
        columns = {"key": keys[mask], "id": segment_ids[mask]} | ({} if documents is None else {"doc": documents[mask]})
        batches.append((int(p), pa.record_batch(columns)))
    return [(p, SpilledKeys(part.part_id, ref, part.existing)) for p, ref in spill(path, batches)]


def keys_path(layout: BuildLayout, stage: str, part_id: str) -> str:
    return layout.part(f"{stage}-keys", part_id)


@dataclasses.dataclass(frozen=True)
class GroupPairs:
    """Each non-minimal member of a key group paired with the group's smallest segment id."""

    part_ids: list[str]  # parts of the partition, indexed by the owner arrays
    member_ids: np.ndarray
    member_owners: np.ndarray
    minimum_ids: np.ndarray
    minimum_owners: np.ndarray


def pair_with_group_minimum(groups: Iterable[PartKeys]) -> GroupPairs:
    """Within one partition, pair every new record that shares a key with another with the group's
    keeper: an existing record if there is one, else the smallest id."""
    groups = list(groups)
    keys = np.concatenate([g.keys for g in groups])
    segment_ids = np.concatenate([g.segment_ids for g in groups])
    owners = np.concatenate([np.full(len(g.keys), i) for i, g in enumerate(groups)])
    is_new = np.concatenate([np.full(len(g.keys), not g.existing) for g in groups])
    # Most keys are held once: one sort finds the shared ones, and only those are sorted by all three.
    by_key = np.argsort(keys)
    sorted_keys = keys[by_key]
    repeats = sorted_keys[1:] == sorted_keys[:-1]
    shared = by_key[np.r_[repeats, False] | np.r_[False, repeats]]
    order = shared[np.lexsort((segment_ids[shared], is_new[shared], keys[shared]))]
    keys, segment_ids, owners, is_new = keys[order], segment_ids[order], owners[order], is_new[order]
    starts_group = np.r_[True, keys[1:] != keys[:-1]]
    first_of_group = np.maximum.accumulate(np.where(starts_group, np.arange(len(keys)), 0))
    member = ~starts_group & is_new
    minimum = first_of_group[member]
    return GroupPairs(
        [g.part_id for g in groups], segment_ids[member], owners[member], segment_ids[minimum], owners[minimum]
    )


def widespread_records(groups: list[PartKeys], min_documents: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, owners) of the new records whose key occurs in at least `min_documents` documents."""
    keys = np.concatenate([g.keys for g in groups])
    documents = np.concatenate([g.documents for g in groups])
    _, group = np.unique(keys, return_inverse=True)
    spread = np.bincount(np.unique(np.stack([group, documents.astype(np.int64)]), axis=1)[0])
    is_new = np.concatenate([np.full(len(g.keys), not g.existing) for g in groups])
    rows = np.flatnonzero(is_new & (spread[group] >= min_documents))
    ids = np.concatenate([g.segment_ids for g in groups])
    owners = np.concatenate([np.full(len(g.keys), i) for i, g in enumerate(groups)])
    return ids[rows], owners[rows]


def duplicates_by_part(
    part_ids: list[str],
    ids: np.ndarray,
    owners: np.ndarray,
    widespread: tuple[np.ndarray, np.ndarray] | None = None,
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """(part id, its listed segment ids as an "id" column, and whether each is `widespread`) for each
    part that owns some of `ids` or of the widespread (ids, owners)."""
    spread_ids, spread_owners = widespread if widespread is not None else (ids[:0], owners[:0])
    for owner in np.unique(np.concatenate([owners, spread_owners])):
        duplicate, spread = np.unique(ids[owners == owner]), np.unique(spread_ids[spread_owners == owner])
        listed = np.union1d(duplicate, spread)
        yield part_ids[owner], pa.record_batch({"id": listed, "widespread": np.isin(listed, spread)})


def drop_listed(
    batch: pa.RecordBatch,
    duplicates: np.ndarray,
    reason: str,
    id_column: str = "segment_id",
    widespread: np.ndarray | None = None,
    widespread_reason: str = "boilerplate",
) -> Decision:
    """Reject the rows whose id is in the array `duplicates`, or in `widespread` (its own reason)."""
    ids = batch.column(id_column).to_numpy()
    listed = np.isin(ids, duplicates, assume_unique=False)
    spread = np.isin(ids, widespread) if widespread is not None else np.zeros(len(ids), bool)
    return Decision(batch, [widespread_reason if s else reason if d else None for d, s in zip(listed, spread)])


class _DropListedInPart(beam.DoFn):
    def __init__(self, stage: str, reason: str, layout: BuildLayout, kind: RecordKind, widespread_reason: str):
        self.stage, self.reason, self.layout, self.kind = stage, reason, layout, kind
        self.widespread_reason = widespread_reason

    def process(self, element: tuple[str, dict]) -> Iterator[Part]:
        _, joined = element
        (part,) = joined["part"]  # every part of the stage, with or without duplicates listed
        lists = [spilled.load() for spilled in joined["duplicates"]]
        ids = [batch.column("id").to_numpy() for batch in lists]
        spread = [batch.column("id").filter(batch.column("widespread")).to_numpy() for batch in lists
                  if "widespread" in batch.schema.names]  # fmt: skip
        decide = functools.partial(
            drop_listed, duplicates=np.concatenate(ids) if ids else np.empty(0, np.uint64), reason=self.reason,
            id_column=self.kind.id_column, widespread=np.concatenate(spread) if spread else None,
            widespread_reason=self.widespread_reason,
        )  # fmt: skip
        yield rewrite_part(part, self.stage, self.layout, decide, self.kind)


class PairKeyPartition(beam.DoFn):
    """Pairs the records of a key partition with their group keepers; spills `batches(pairs)`, (part id,
    batch) items, to the partition's `<stage>-<output>` file."""

    output: str

    def __init__(self, stage: str, layout: BuildLayout):
        self.stage, self.layout = stage, layout

    def batches(self, groups: list[PartKeys], pairs: GroupPairs) -> Iterable[tuple[str, pa.RecordBatch]]:
        raise NotImplementedError

    def process(self, element: tuple[int, Iterable[SpilledKeys]]) -> Iterator[tuple[str, SpilledBatch]]:
        partition, spilled = element
        # In part id order, not the runner's: the file's batch order then does not depend on the attempt,
        # so a concurrent retry of this partition writes the batches the other attempt's references name.
        groups = [keys.load() for keys in sorted(spilled, key=lambda keys: keys.part_id)]
        path = self.layout.part(f"{self.stage}-{self.output}", f"partition-{partition}")
        yield from spill(path, self.batches(groups, pair_with_group_minimum(groups)))


class _ListDuplicates(PairKeyPartition):
    """Every record of a partition whose key a record with a smaller id has, by part; with
    `min_documents`, also every new record whose key is in that many documents."""

    output = "duplicates"

    def __init__(self, stage: str, layout: BuildLayout, min_documents: int | None = None):
        super().__init__(stage, layout)
        self.min_documents = min_documents

    def batches(self, groups: list[PartKeys], pairs: GroupPairs) -> Iterable[tuple[str, pa.RecordBatch]]:
        spread = widespread_records(groups, self.min_documents) if self.min_documents else None
        return duplicates_by_part(pairs.part_ids, pairs.member_ids, pairs.member_owners, spread)


class _KeysOfPart(beam.DoFn):
    def __init__(
        self,
        keys_of: Callable[[pa.RecordBatch], np.ndarray],
        num_partitions: int,
        kind: RecordKind,
        stage: str,
        layout: BuildLayout,
        documents_of: Callable[[pa.RecordBatch], np.ndarray] | None = None,
    ):
        self.keys_of, self.num_partitions, self.kind = keys_of, num_partitions, kind
        self.stage, self.layout, self.documents_of = stage, layout, documents_of

    def process(self, part: Part) -> Iterator[tuple[int, SpilledKeys]]:
        keys, ids, documents = [], [], []
        for batch in read_batches(part.path, self.kind.schema):
            keys.append(self.keys_of(batch))
            ids.append(batch.column(self.kind.id_column).to_numpy())
            if self.documents_of is not None:
                documents.append(self.documents_of(batch))
        if keys:
            path = keys_path(self.layout, self.stage, part.part_id)
            yield from partition_keys(part, np.concatenate(keys), np.concatenate(ids), self.num_partitions, path,
                                      np.concatenate(documents) if documents else None)  # fmt: skip


def key_by_part_id(part: Part) -> tuple[str, Part]:
    return part.part_id, part


class DropListedRecords(beam.PTransform):
    """Reject, in each part, the records listed for it in `duplicates` ((part id, spilled "id" column) elements)."""

    def __init__(
        self,
        duplicates,
        stage: str,
        reason: str,
        layout: BuildLayout,
        kind: RecordKind = Segments,
        widespread_reason: str = "boilerplate",
    ):
        super().__init__()
        self.duplicates, self.stage, self.reason, self.layout, self.kind = duplicates, stage, reason, layout, kind
        self.widespread_reason = widespread_reason

    def expand(self, parts):
        drop = _DropListedInPart(self.stage, self.reason, self.layout, self.kind, self.widespread_reason)
        return (
            {"part": parts | "KeyByPartId" >> beam.Map(key_by_part_id), "duplicates": self.duplicates}
            | "JoinListsToParts" >> beam.CoGroupByKey()
            | "DropListed" >> beam.ParDo(drop)
        )


def with_existing(parts, existing, label: str = "WithExistingParts"):
    """`parts` together with the `existing` parts of earlier builds (if any)."""
    return parts if existing is None else (parts, existing) | label >> beam.Flatten()


@dataclasses.dataclass(frozen=True)
class Boilerplate:
    """Drop every copy of a key found in `min_documents` documents (`documents_of`: a batch's document hashes)."""

    documents_of: Callable[[pa.RecordBatch], np.ndarray]
    min_documents: int
    reason: str = "boilerplate"


class DropDuplicateKeys(beam.PTransform):
    """Among records whose `keys_of(batch)` 64-bit keys are equal, keep the smallest id (or an existing
    record); reject the others, and with `boilerplate` every copy of a widespread key."""

    def __init__(
        self,
        keys_of: Callable[[pa.RecordBatch], np.ndarray],
        num_partitions: int,
        stage: str,
        reason: str,
        layout: BuildLayout,
        kind: RecordKind = Segments,
        existing=None,
        boilerplate: Boilerplate | None = None,
    ):
        super().__init__()
        self.keys_of, self.num_partitions, self.kind = keys_of, num_partitions, kind
        self.stage, self.reason, self.layout, self.existing = stage, reason, layout, existing
        self.boilerplate = boilerplate

    def expand(self, parts):
        spread = self.boilerplate
        hash_keys = _KeysOfPart(self.keys_of, self.num_partitions, self.kind, self.stage, self.layout,
                                spread.documents_of if spread else None)  # fmt: skip
        list_duplicates = _ListDuplicates(self.stage, self.layout, spread.min_documents if spread else None)
        duplicates = (
            with_existing(parts, self.existing)
            | "HashKeys" >> beam.ParDo(hash_keys)
            | "GroupByKeyPartition" >> beam.GroupByKey()
            | "ListDuplicates" >> beam.ParDo(list_duplicates)
        )
        return parts | "DropDuplicates" >> DropListedRecords(
            duplicates, self.stage, self.reason, self.layout, self.kind, spread.reason if spread else "boilerplate"
        )
