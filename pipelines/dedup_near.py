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
from pipelines.minhash import MinHasher, band_keys, band_layout, shingle_sets
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
    shingle_sets: list[np.ndarray]


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
            enough = np.fromiter((len(s) >= self.config.min_shingles for s in sets), bool, len(sets))
            if not enough.any():
                continue
            signatures = self.hasher.signatures([s for s, ok in zip(sets, enough) if ok])
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
    for owner in np.unique(owners):
        yield pairs.part_ids[owner], both.select(owners == owner)


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
        wanted = ShingleRequests(
            *(np.concatenate([getattr(r, f) for r in requests]) for f in ShingleRequests.__dataclass_fields__)
        )
        found: dict[int, np.ndarray] = {}
        for batch in read_batches(part.path):
            ids = batch.column("segment_id").to_numpy()
            rows = np.flatnonzero(np.isin(ids, wanted.segment_ids))
            texts = batch.column("text").take(rows).to_pylist()
            found.update(zip(ids[rows].tolist(), shingle_sets(texts, self.config.word_ngram, self.config.char_ngram)))
        partitions = wanted.member_ids % np.uint64(self.config.num_partitions)
        for p in np.unique(partitions):
            mine = wanted.select(partitions == p)
            yield int(p), PairSides(part.part_id, mine, [found[i] for i in mine.segment_ids.tolist()])


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sets given as unique arrays."""
    union = len(a) + len(b)
    if union == 0:
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (union - common)


def confirm_pairs(element: tuple[int, list[PairSides]], threshold: float) -> Iterator[tuple[str, np.ndarray]]:
    """Members whose Jaccard similarity with their pair's minimum reaches `threshold`, by part."""
    members: dict[tuple[int, int], tuple[int, np.ndarray]] = {}
    minimums: dict[tuple[int, int], np.ndarray] = {}
    sides = list(element[1])
    for index, side in enumerate(sides):
        pairs = side.pairs
        for is_member, pair, shingle_set in zip(
            pairs.is_member.tolist(), zip(pairs.member_ids.tolist(), pairs.minimum_ids.tolist()), side.shingle_sets
        ):
            if is_member:
                members[pair] = (index, shingle_set)
            else:
                minimums[pair] = shingle_set
    confirmed, owners = [], []
    for pair, (owner, member_set) in sorted(members.items()):
        if pair in minimums and jaccard(member_set, minimums[pair]) >= threshold:
            confirmed.append(pair[0])
            owners.append(owner)
    if confirmed:
        yield from duplicates_by_part([s.part_id for s in sides], np.array(confirmed, np.uint64), np.array(owners))


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
