"""Near-duplicate removal: MinHash + LSH banding in Beam, with every candidate pair verified.

Segments that collide in an LSH band are paired with the band bucket's keeper (an existing record,
else the smallest segment id). The keeper's shingle set is sent to the part holding the other
segment, which drops it only when the exact Jaccard similarity of the two sets reaches the
threshold. Bands are tuned for recall, the verification gives precision; only the (few) keepers of
candidate pairs have their shingles shipped, never every segment's. Band keys, candidate pairs and
shipped sets all travel in work files (`pipelines.common.spill`); the runner groups only references.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa

from xlmforge.pipelines.common.dedup import (
    GroupPairs,
    PairKeyPartition,
    PartKeys,
    SpilledKeys,
    key_by_part_id,
    keys_path,
    partition_keys,
    with_existing,
)
from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.parts import ArrowFileWriter, Decision, Part, StageTransform, read_batches, rewrite_part
from xlmforge.pipelines.common.spill import SpilledBatch, spill
from xlmforge.pipelines.corpus.config import NearDedupConfig
from xlmforge.pipelines.corpus.minhash import (
    MinHasher,
    ShingleSets,
    band_keys,
    band_layout,
    jaccard_pairs,
    shingle_sets,
)
from xlmforge.schemas.records import versioned_schema

STAGE = "near_dedup"
REASON = "near_duplicate"
# The shingle sets of a part, one row per segment in the part's order: computed once, for the band keys,
# and read back for the candidate pairs rather than computed again.
SHINGLE_SCHEMA = versioned_schema("shingles", [pa.field("shingles", pa.list_(pa.uint64()), nullable=False)])


@dataclasses.dataclass(frozen=True)
class KeeperSets:
    """For candidate pairs whose members live in one part: the keepers' shingle sets."""

    member_ids: np.ndarray
    keeper_ids: np.ndarray
    keeper_sets: ShingleSets

    def to_batch(self) -> pa.RecordBatch:
        return pa.record_batch(
            {"member_id": self.member_ids, "keeper_id": self.keeper_ids, "shingles": self.keeper_sets.to_arrow()}
        )

    @staticmethod
    def from_batch(batch: pa.RecordBatch) -> KeeperSets:
        return KeeperSets(
            batch.column("member_id").to_numpy(),
            batch.column("keeper_id").to_numpy(),
            ShingleSets.from_arrow(batch.column("shingles")),
        )


def _rows_by_value(values: np.ndarray) -> Iterator[tuple[object, np.ndarray]]:
    """(value, the rows holding it) for each distinct value, in one sort."""
    order = np.argsort(values, kind="stable")
    distinct, starts = np.unique(values[order], return_index=True)
    yield from zip(distinct.tolist(), np.split(order, starts[1:]))


def shingles_path(layout: BuildLayout, stage: str, part_id: str) -> str:
    return layout.part(f"{stage}-shingles", part_id)


def _cached_sets(path: str) -> Iterator[ShingleSets]:
    """The shingle sets of a part, batch by batch, as `_BandKeys` wrote them."""
    for batch in read_batches(path, SHINGLE_SCHEMA):
        yield ShingleSets.from_arrow(batch.column("shingles"))


class _BandKeys(beam.DoFn):
    def __init__(self, config: NearDedupConfig, stage: str, layout: BuildLayout):
        self.config, self.stage, self.layout = config, stage, layout
        self.num_bands, self.rows_per_band = band_layout(config.threshold, config.num_perm)

    def setup(self) -> None:
        self.hasher = MinHasher(self.config.num_perm, self.config.seed)

    def process(self, part: Part) -> Iterator[tuple[int, SpilledKeys]]:
        keys, ids = [], []
        with ArrowFileWriter(shingles_path(self.layout, self.stage, part.part_id), SHINGLE_SCHEMA) as cache:
            for batch in read_batches(part.path):
                texts = batch.column("text").to_pylist()
                sets = shingle_sets(texts, self.config.word_ngram, self.config.char_ngram)
                cache.write(pa.RecordBatch.from_arrays([sets.to_arrow()], schema=SHINGLE_SCHEMA))
                enough = np.flatnonzero(sets.sizes >= self.config.min_shingles)
                if not len(enough):
                    continue
                signatures = self.hasher.signatures(sets.take(enough))
                keys.append(band_keys(signatures, self.num_bands, self.rows_per_band).ravel())
                ids.append(np.repeat(batch.column("segment_id").to_numpy()[enough], self.num_bands))
        if keys:
            path = keys_path(self.layout, self.stage, part.part_id)
            yield from partition_keys(part, np.concatenate(keys), np.concatenate(ids), self.config.num_partitions, path)


class _PairWithBucketKeeper(PairKeyPartition):
    """The candidate pairs (member, keeper) of a band partition, sent to the parts that hold their keepers."""

    output = "candidates"

    def batches(self, groups: list[PartKeys], pairs: GroupPairs) -> Iterable[tuple[str, pa.RecordBatch]]:
        member_parts = pa.array(pairs.part_ids)
        return (
            (
                pairs.part_ids[owner],
                pa.record_batch(
                    {
                        "member_id": pairs.member_ids[rows],
                        "keeper_id": pairs.minimum_ids[rows],
                        "member_part": pa.DictionaryArray.from_arrays(pairs.member_owners[rows], member_parts),
                    }
                ),
            )
            for owner, rows in _rows_by_value(pairs.minimum_owners)
        )


class _ShipKeeperSets(beam.DoFn):
    """Sends the shingle sets of a part's keepers to the parts of their members."""

    def __init__(self, stage: str, layout: BuildLayout):
        self.stage, self.layout = stage, layout

    def process(self, element: tuple[str, dict]) -> Iterator[tuple[str, SpilledBatch]]:
        _, joined = element
        requests = [spilled.load() for spilled in joined["candidates"]]
        if not requests:
            return
        (part,) = joined["part"]
        members = np.concatenate([c.column("member_id").to_numpy() for c in requests])
        keepers = np.concatenate([c.column("keeper_id").to_numpy() for c in requests])
        member_parts = np.concatenate([c.column("member_part").to_numpy(zero_copy_only=False) for c in requests])
        # A near-duplicate pair usually collides in most bands: verify it once.
        _, unique = np.unique(np.stack([members, keepers]), axis=1, return_index=True)
        members, keepers, member_parts = members[unique], keepers[unique], member_parts[unique]
        found_ids, found_sets = [], []
        cached = _cached_sets(shingles_path(self.layout, self.stage, part.part_id))
        for batch, sets in zip(read_batches(part.path), cached, strict=True):
            ids = batch.column("segment_id").to_numpy()
            rows = np.flatnonzero(np.isin(ids, keepers))
            found_ids.append(ids[rows])
            found_sets.append(sets.take(rows))
        ids, sets = np.concatenate(found_ids), ShingleSets.concat(found_sets)
        order = np.argsort(ids)
        row_of_keeper = order[np.searchsorted(ids, keepers, sorter=order)]
        shipped = (
            (member_part, KeeperSets(members[rows], keepers[rows], sets.take(row_of_keeper[rows])).to_batch())
            for member_part, rows in _rows_by_value(member_parts)
        )
        yield from spill(self.layout.part(f"{self.stage}-keepers", part.part_id), shipped)


def drop_similar(batch: pa.RecordBatch, sets: ShingleSets, keepers: KeeperSets, threshold: float) -> Decision:
    """Reject the rows (whose shingle sets are `sets`) at least `threshold` similar to one of their keepers'."""
    ids = batch.column("segment_id").to_numpy()
    in_batch = np.flatnonzero(np.isin(keepers.member_ids, ids))
    reasons: list[str | None] = [None] * batch.num_rows
    if not len(in_batch):
        return Decision(batch, reasons)
    order = np.argsort(ids)
    rows = order[np.searchsorted(ids, keepers.member_ids[in_batch], sorter=order)]
    similar = jaccard_pairs(sets.take(rows), keepers.keeper_sets.take(in_batch)) >= threshold
    for row in rows[similar].tolist():
        reasons[row] = REASON
    return Decision(batch, reasons)


class _DropSimilarInPart(beam.DoFn):
    def __init__(self, threshold: float, stage: str, layout: BuildLayout):
        self.threshold, self.stage, self.layout = threshold, stage, layout

    def process(self, element: tuple[str, dict]) -> Iterator[Part]:
        _, joined = element
        (part,) = joined["part"]
        found = [KeeperSets.from_batch(spilled.load()) for spilled in joined["keepers"]]
        keepers = KeeperSets(
            np.concatenate([k.member_ids for k in found]) if found else np.zeros(0, np.uint64),
            np.concatenate([k.keeper_ids for k in found]) if found else np.zeros(0, np.uint64),
            ShingleSets.concat([k.keeper_sets for k in found]),
        )
        # rewrite_part asks for the part's batches in order: the cached shingle sets come in the same order.
        cached = _cached_sets(shingles_path(self.layout, self.stage, part.part_id))
        decide = lambda batch: drop_similar(batch, next(cached), keepers, self.threshold)  # noqa: E731
        yield rewrite_part(part, self.stage, self.layout, decide)


class DropNearDuplicates(StageTransform):
    """Drop segments whose shingle set is near-identical (Jaccard >= threshold) to a keeper's."""

    stage = STAGE

    def expand(self, parts):
        # Existing parts of earlier builds take part in the matching, never in the rewriting.
        compared = with_existing(parts, self.existing)
        candidates = (
            compared
            | "MinHashBandKeys" >> beam.ParDo(_BandKeys(self.config, self.stage_name, self.layout))
            | "GroupByBandPartition" >> beam.GroupByKey()
            | "PairWithBucketKeeper" >> beam.ParDo(_PairWithBucketKeeper(self.stage_name, self.layout))
        )
        keeper_sets = (
            {"part": compared | "KeyComparedByPartId" >> beam.Map(key_by_part_id), "candidates": candidates}
            | "JoinCandidatesToKeeperParts" >> beam.CoGroupByKey()
            | "ShipKeeperShingles" >> beam.ParDo(_ShipKeeperSets(self.stage_name, self.layout))
        )
        return (
            {"part": parts | "KeyByPartId" >> beam.Map(key_by_part_id), "keepers": keeper_sets}
            | "JoinKeepersToMemberParts" >> beam.CoGroupByKey()
            | "DropSimilar" >> beam.ParDo(_DropSimilarInPart(self.config.threshold, self.stage_name, self.layout))
        )
