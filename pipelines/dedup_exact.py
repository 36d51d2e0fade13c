"""Exact deduplication across all sources, languages and documents, on a normalized key."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import numpy as np
import xxhash

from pipelines.dedup import (
    DropListedSegments,
    PartKeys,
    duplicates_by_part,
    pair_with_group_minimum,
    partition_keys,
)
from pipelines.parts import Part, StageTransform, read_batches
from pipelines.scripts import CONTROL, PUNCT, SPACE, classes_of, code_points

STAGE = "exact_dedup"
REASON = "exact_duplicate"
_IGNORED_CLASSES = np.array([PUNCT, SPACE, CONTROL], dtype=np.uint8)


def comparison_keys(texts: list[str]) -> list[np.ndarray]:
    """Each text casefolded, without punctuation and spaces, as code points: equal keys mean duplicates."""
    folded = [t.casefold() for t in texts]
    cps = code_points("".join(folded))
    lengths = np.fromiter((len(t) for t in folded), dtype=np.int64, count=len(folded))
    keep = ~np.isin(classes_of(cps), _IGNORED_CLASSES)
    kept_before = np.r_[0, np.cumsum(keep)]  # kept code points before each position
    ends = np.cumsum(lengths)
    kept_lengths = kept_before[ends] - kept_before[ends - lengths]
    return np.split(cps[keep], np.cumsum(kept_lengths)[:-1])


def comparison_key(text: str) -> str:
    """The comparison key of one text, as a string (for tests and inspection)."""
    return comparison_keys([text])[0].tobytes().decode("utf-32-le")


def key_hashes(texts: list[str]) -> np.ndarray:
    """A 64-bit hash of each text's comparison key."""
    return np.fromiter((xxhash.xxh3_64_intdigest(k.tobytes()) for k in comparison_keys(texts)), np.uint64, len(texts))


class _HashTexts(beam.DoFn):
    def __init__(self, num_partitions: int):
        self.num_partitions = num_partitions

    def process(self, part: Part) -> Iterator[tuple[int, PartKeys]]:
        keys, ids = [], []
        for batch in read_batches(part.path):
            keys.append(key_hashes(batch.column("text").to_pylist()))
            ids.append(batch.column("segment_id").to_numpy())
        if keys:
            yield from partition_keys(part.part_id, np.concatenate(keys), np.concatenate(ids), self.num_partitions)


def list_duplicates(element: tuple[int, list[PartKeys]]) -> Iterator[tuple[str, np.ndarray]]:
    """Every segment of a partition whose key a smaller segment id has, by part."""
    pairs = pair_with_group_minimum(element[1])
    return duplicates_by_part(pairs.part_ids, pairs.member_ids, pairs.member_owners)


class DropExactDuplicates(StageTransform):
    """Keep one copy of each text (up to case, punctuation and spacing); the smallest segment id wins."""

    def expand(self, parts):
        duplicates = (
            parts
            | "HashTexts" >> beam.ParDo(_HashTexts(self.config.num_partitions))
            | "GroupByHashPartition" >> beam.GroupByKey()
            | "ListDuplicates" >> beam.FlatMap(list_duplicates)
        )
        return parts | "DropDuplicates" >> DropListedSegments(duplicates, STAGE, REASON, self.layout)
