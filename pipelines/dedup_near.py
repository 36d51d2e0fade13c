"""Near-duplicate removal: MinHash + LSH banding in Beam, with every candidate pair verified.

Segments that collide in an LSH band are paired with the band bucket's smallest segment id; the
exact Jaccard similarity of each pair's shingle sets is then computed and the larger id dropped
only when it reaches the threshold. Bands are tuned for recall, the verification gives precision.
Shingles are recomputed for the (few) segments in candidate pairs rather than shuffled for all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import apache_beam as beam
import numpy as np

from pipelines.config import NearDedupConfig
from pipelines.dedup import (
    DropListedRecords,
    PartKeys,
    duplicates_by_part,
    key_by_part_id,
    pair_with_group_minimum,
    partition_keys,
    with_existing,
)
from pipelines.minhash import MinHasher, ShingleSets, band_keys, band_layout, jaccard_pairs, shingle_sets
from pipelines.parts import Part, StageTransform, read_batches

STAGE = "near_dedup"
REASON = "near_duplicate"


@dataclasses.dataclass(frozen=True)
class ShingleRequests:
    """Segments of one part whose shingles are needed: row i is one side of pair (member i, minimum i)."""

    segment_ids: np.ndarray
    is_member: np.ndarray  # bool: which side of its pair the segment is
    member_ids: np.ndarray
    minimum_ids: np.ndarray

    def select(self, rows: np.ndarray) -> ShingleRequests:
        return ShingleRequests(
            self.segment_ids[rows], self.is_member[rows], self.member_ids[rows], self.minimum_ids[rows]
        )


@dataclasses.dataclass(frozen=True)
class PairSides:
    """Shingle sets of some sides of candidate pairs; `part_id` owns the segments of these sides."""

    part_id: str
    pairs: ShingleRequests
    shingle_sets: ShingleSets


class _BandKeys(beam.DoFn):
    def __init__(self, config: NearDedupConfig):
        self.config = config
        self.num_bands, self.rows_per_band = band_layout(config.threshold, config.num_perm)

    def setup(self) -> None:
        self.hasher = MinHasher(self.config.num_perm, self.config.seed)

    def process(self, part: Part) -> Iterator[tuple[int, PartKeys]]:
        keys, ids = [], []
        for batch in read_batches(part.path):
            sets = shingle_sets(batch.column("text").to_pylist(), self.config.word_ngram, self.config.char_ngram)
            enough = np.flatnonzero(sets.sizes >= self.config.min_shingles)
            if not len(enough):
                continue
            signatures = self.hasher.signatures(sets.take(enough))
            keys.append(band_keys(signatures, self.num_bands, self.rows_per_band).ravel())
            ids.append(np.repeat(batch.column("segment_id").to_numpy()[enough], self.num_bands))
        if keys:
            yield from partition_keys(part, np.concatenate(keys), np.concatenate(ids), self.config.num_partitions)


def request_shingles(element: tuple[int, list[PartKeys]]) -> Iterator[tuple[str, ShingleRequests]]:
    """For each candidate pair of a band partition, ask both parts for their side's shingles."""
    pairs = pair_with_group_minimum(element[1])
    num_pairs = len(pairs.member_ids)
    both = ShingleRequests(
        np.concatenate([pairs.member_ids, pairs.minimum_ids]),
        np.r_[np.ones(num_pairs, bool), np.zeros(num_pairs, bool)],
        np.tile(pairs.member_ids, 2),
        np.tile(pairs.minimum_ids, 2),
    )
    owners = np.concatenate([pairs.member_owners, pairs.minimum_owners])
    for owner, rows in _rows_by_value(owners):
        yield pairs.part_ids[owner], both.select(rows)


def _rows_by_value(values: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(value, the rows holding it) for each distinct value, in one sort."""
    order = np.argsort(values, kind="stable")
    distinct, starts = np.unique(values[order], return_index=True)
    for value, rows in zip(distinct, np.split(order, starts[1:])):
        yield int(value), rows


def _concat_requests(requests: list[ShingleRequests]) -> ShingleRequests:
    fields = [f.name for f in dataclasses.fields(ShingleRequests)]
    return ShingleRequests(*(np.concatenate([getattr(r, f) for r in requests]) for f in fields))


class _ShingleRequested(beam.DoFn):
    """Computes the shingle sets a part was asked for and sends each to its pair's partition."""

    def __init__(self, config: NearDedupConfig):
        self.config = config

    def process(self, element: tuple[str, dict]) -> Iterator[tuple[int, PairSides]]:
        _, joined = element
        requests = list(joined["requests"])
        if not requests:
            return
        (part,) = joined["part"]
        wanted = _concat_requests(requests)
        found_ids, found_sets = [], []
        for batch in read_batches(part.path):
            ids = batch.column("segment_id").to_numpy()
            rows = np.flatnonzero(np.isin(ids, wanted.segment_ids))
            texts = batch.column("text").take(rows).to_pylist()
            found_ids.append(ids[rows])
            found_sets.append(shingle_sets(texts, self.config.word_ngram, self.config.char_ngram))
        ids, sets = np.concatenate(found_ids), ShingleSets.concat(found_sets)
        order = np.argsort(ids)
        row_of_request = order[np.searchsorted(ids, wanted.segment_ids, sorter=order)]
        partitions = (wanted.member_ids % np.uint64(self.config.num_partitions)).astype(np.int64)
        for p, rows in _rows_by_value(partitions):
            yield p, PairSides(part.part_id, wanted.select(rows), sets.take(row_of_request[rows]))


def confirm_pairs(element: tuple[int, list[PairSides]], threshold: float) -> Iterator[tuple[str, np.ndarray]]:
    """Members whose Jaccard similarity with their pair's minimum reaches `threshold`, by part."""
    sides = list(element[1])
    owners = np.concatenate([np.full(len(s.pairs.segment_ids), i) for i, s in enumerate(sides)])
    pairs = _concat_requests([s.pairs for s in sides])
    sets = ShingleSets.concat([s.shingle_sets for s in sides])
    # Line up each pair's member side with its minimum side (a pair found in several bands comes
    # more than once): sorted by pair, member sides first.
    order = np.lexsort((~pairs.is_member, pairs.minimum_ids, pairs.member_ids))
    member, minimum, is_member = pairs.member_ids[order], pairs.minimum_ids[order], pairs.is_member[order]
    first = np.flatnonzero(np.r_[True, (member[1:] != member[:-1]) | (minimum[1:] != minimum[:-1])])
    last = np.r_[first[1:], len(order)] - 1
    complete = is_member[first] & ~is_member[last]
    first, last = first[complete], last[complete]
    similar = jaccard_pairs(sets.take(order[first]), sets.take(order[last])) >= threshold
    confirmed = first[similar]
    if len(confirmed):
        yield from duplicates_by_part([s.part_id for s in sides], member[confirmed], owners[order[confirmed]])


class DropNearDuplicates(StageTransform):
    """Drop segments whose shingle set is near-identical (Jaccard >= threshold) to a smaller segment id's."""

    stage = STAGE

    def expand(self, parts):
        # Existing parts of earlier builds take part in the matching, never in the rewriting.
        compared = with_existing(parts, self.existing)
        requests = (
            compared
            | "MinHashBandKeys" >> beam.ParDo(_BandKeys(self.config))
            | "GroupByBandPartition" >> beam.GroupByKey()
            | "PairWithBucketMinimum" >> beam.FlatMap(request_shingles)
        )
        duplicates = (
            {"part": compared | "KeyByPartId" >> beam.Map(key_by_part_id), "requests": requests}
            | "JoinRequestsToParts" >> beam.CoGroupByKey()
            | "ShingleCandidates" >> beam.ParDo(_ShingleRequested(self.config))
            | "GroupByPairPartition" >> beam.GroupByKey()
            | "ConfirmSimilarPairs" >> beam.FlatMap(confirm_pairs, threshold=self.config.threshold)
        )
        return parts | "DropDuplicates" >> DropListedRecords(duplicates, self.stage_name, REASON, self.layout)
