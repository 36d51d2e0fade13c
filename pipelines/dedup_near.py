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
    DropListedSegments,
    PartKeys,
    duplicates_by_part,
    key_by_part_id,
    pair_with_group_minimum,
    partition_keys,
)
from pipelines.minhash import MinHasher, band_keys, band_layout, shingles
from pipelines.layout import BuildLayout
from pipelines.parts import Part, read_batches

STAGE = "near_dedup"
REASON = "near_duplicate"


@dataclasses.dataclass(frozen=True)
class ShingleRequests:
    """Segments of one part whose shingles are needed: row i is one side of pair (member i, minimum i)."""

    is_member: bool  # which side of the pairs the segments are
    segment_ids: np.ndarray
    member_ids: np.ndarray
    minimum_ids: np.ndarray


@dataclasses.dataclass(frozen=True)
class PairSides:
    """Shingle sets of one side of some candidate pairs; `part_id` owns this side's segments."""

    part_id: str
    is_member: bool
    member_ids: np.ndarray
    minimum_ids: np.ndarray
    shingle_sets: list[np.ndarray]


def _shingle_sets(texts: list[str], config: NearDedupConfig) -> list[np.ndarray]:
    return [shingles(t, config.word_ngram, config.char_ngram) for t in texts]


class _BandKeys(beam.DoFn):
    def __init__(self, config: NearDedupConfig):
        self.config = config
        self.num_bands, self.rows_per_band = band_layout(config.threshold, config.num_perm)

    def setup(self) -> None:
        self.hasher = MinHasher(self.config.num_perm, self.config.seed)

    def process(self, part: Part) -> Iterator[tuple[int, PartKeys]]:
        keys, ids = [], []
        for batch in read_batches(part.path):
            sets = _shingle_sets(batch.column("text").to_pylist(), self.config)
            enough = np.fromiter((len(s) >= self.config.min_shingles for s in sets), bool, len(sets))
            if not enough.any():
                continue
            signatures = self.hasher.signatures([s for s, ok in zip(sets, enough) if ok])
            keys.append(band_keys(signatures, self.num_bands, self.rows_per_band).ravel())
            ids.append(np.repeat(batch.column("segment_id").to_numpy()[enough], self.num_bands))
        if keys:
            yield from partition_keys(part.part_id, np.concatenate(keys), np.concatenate(ids), self.config.num_partitions)


def request_shingles(element: tuple[int, list[PartKeys]]) -> Iterator[tuple[str, ShingleRequests]]:
    """For each candidate pair of a band partition, ask both parts for their side's shingles."""
    pairs = pair_with_group_minimum(element[1])
    sides = ((True, pairs.member_ids, pairs.member_owners), (False, pairs.minimum_ids, pairs.minimum_owners))
    for is_member, ids, owners in sides:
        for owner in np.unique(owners):
            mine = owners == owner
            yield pairs.part_ids[owner], ShingleRequests(is_member, ids[mine], pairs.member_ids[mine], pairs.minimum_ids[mine])


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
        wanted = np.unique(np.concatenate([r.segment_ids for r in requests]))
        found: dict[int, np.ndarray] = {}
        for batch in read_batches(part.path):
            ids = batch.column("segment_id").to_numpy()
            rows = np.flatnonzero(np.isin(ids, wanted))
            texts = batch.column("text").take(rows).to_pylist()
            found.update(zip(ids[rows].tolist(), _shingle_sets(texts, self.config)))
        for request in requests:
            partitions = request.member_ids % np.uint64(self.config.num_partitions)
            for p in np.unique(partitions):
                mine = partitions == p
                sets = [found[i] for i in request.segment_ids[mine].tolist()]
                yield int(p), PairSides(part.part_id, request.is_member, request.member_ids[mine], request.minimum_ids[mine], sets)


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
        for member, minimum, shingle_set in zip(side.member_ids.tolist(), side.minimum_ids.tolist(), side.shingle_sets):
            if side.is_member:
                members[(member, minimum)] = (index, shingle_set)
            else:
                minimums[(member, minimum)] = shingle_set
    confirmed, owners = [], []
    for pair, (owner, member_set) in sorted(members.items()):
        if pair in minimums and jaccard(member_set, minimums[pair]) >= threshold:
            confirmed.append(pair[0])
            owners.append(owner)
    if confirmed:
        yield from duplicates_by_part([s.part_id for s in sides], np.array(confirmed, np.uint64), np.array(owners))


class DropNearDuplicates(beam.PTransform):
    """Drop segments whose shingle set is near-identical (Jaccard >= threshold) to a smaller segment id's."""

    def __init__(self, config: NearDedupConfig, layout: BuildLayout):
        super().__init__()
        self.config, self.layout = config, layout

    def expand(self, parts):
        requests = (
            parts
            | "MinHashBandKeys" >> beam.ParDo(_BandKeys(self.config))
            | "GroupByBandPartition" >> beam.GroupByKey()
            | "PairWithBucketMinimum" >> beam.FlatMap(request_shingles)
        )
        duplicates = (
            {"part": parts | "KeyByPartId" >> beam.Map(key_by_part_id), "requests": requests}
            | "JoinRequestsToParts" >> beam.CoGroupByKey()
            | "ShingleCandidates" >> beam.ParDo(_ShingleRequested(self.config))
            | "GroupByPairPartition" >> beam.GroupByKey()
            | "ConfirmSimilarPairs" >> beam.FlatMap(confirm_pairs, threshold=self.config.threshold)
        )
        return parts | "DropDuplicates" >> DropListedSegments(duplicates, STAGE, REASON, self.layout)
