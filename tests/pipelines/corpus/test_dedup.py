from pathlib import Path

import apache_beam as beam
import numpy as np
from apache_beam.testing.util import assert_that, equal_to

from tests.pipelines.parts_fixtures import rejects_of, rows_of, write_part
from xlmforge.pipelines.common.comparison import comparison_key
from xlmforge.pipelines.common.dedup import PartKeys, _ListDuplicates, pair_with_group_minimum, partition_keys
from xlmforge.pipelines.common.parts import Part
from xlmforge.pipelines.corpus.config import ExactDedupConfig, NearDedupConfig
from xlmforge.pipelines.corpus.exact_dedup import DropExactDuplicates
from xlmforge.pipelines.corpus.near_dedup import DropNearDuplicates

LONG = "The committee said on Tuesday that the new rules would apply to all members from next year"


def test_pairs_each_member_with_its_group_minimum():
    groups = [
        PartKeys("a", np.array([5, 7, 5], np.uint64), np.array([30, 10, 20], np.uint64)),
        PartKeys("b", np.array([5, 9], np.uint64), np.array([15, 40], np.uint64)),
    ]
    pairs = pair_with_group_minimum(groups)
    members = sorted(zip(pairs.member_ids.tolist(), pairs.minimum_ids.tolist()))
    assert members == [(20, 15), (30, 15)]


def test_a_partition_spills_the_same_file_whatever_order_its_parts_arrive_in(layout):
    a = Part("a", "", 3)
    b = Part("b", "", 2)
    keys_a = partition_keys(
        a, np.array([5, 7, 5], np.uint64), np.array([30, 10, 20], np.uint64), 1, layout.part("k", "a")
    )
    keys_b = partition_keys(b, np.array([5, 7], np.uint64), np.array([15, 40], np.uint64), 1, layout.part("k", "b"))
    written = []
    for order in ([keys_a[0][1], keys_b[0][1]], [keys_b[0][1], keys_a[0][1]]):
        refs = list(_ListDuplicates("exact_dedup", layout).process((0, order)))
        written.append((refs, Path(refs[0][1].path).read_bytes()))
    assert written[0] == written[1]
    assert {part: ref.load().column("id").to_pylist() for part, ref in written[0][0]} == {"a": [20, 30], "b": [40]}


def test_comparison_key_ignores_case_punctuation_and_spaces():
    assert comparison_key("Hello, World!") == comparison_key("hello world") == "helloworld"
    assert comparison_key("Straße") == comparison_key("STRASSE")


def test_exact_duplicates_across_parts_keep_the_smallest_segment_id(layout, make_pipeline):
    a = write_part(layout, "a", ["Guten Morgen!", "Ein Satz.", "guten  morgen"])
    b = write_part(layout, "b", ["Ein Satz", "Noch ein anderer Satz."], lang="fra")
    with make_pipeline() as p:
        out = p | beam.Create([a, b]) | DropExactDuplicates(ExactDedupConfig(num_partitions=3), layout)
        assert_that(out | beam.Map(lambda part: part.part_id), equal_to(["a", "b"]))
    kept = [r["text"] for part in ("a", "b") for r in rows_of(layout.part("exact_dedup", part))]
    rejected = rejects_of(layout, "exact_dedup", "a") + rejects_of(layout, "exact_dedup", "b")
    assert len(kept) + len(rejected) == 5 and len(rejected) == 2
    assert {r["reason"] for r in rejected} == {"exact_duplicate"}
    # Of each group the smallest segment id survives, whichever part or language it is in.
    by_key = {}
    for r in rows_of(a.path) + rows_of(b.path):
        by_key.setdefault(comparison_key(r["text"]), []).append(r)
    survivors = {min(group, key=lambda r: r["segment_id"])["text"] for group in by_key.values()}
    assert set(kept) == survivors


def test_near_duplicates_are_verified(layout, make_pipeline):
    texts = [
        LONG,
        LONG.replace("Tuesday", "Wednesday"),  # one word changed: bigram Jaccard 15/19 = 0.79, kept
        LONG + " and beyond",  # two words added: bigram Jaccard 17/19 = 0.89, a near duplicate
        "A completely different sentence about the weather in the mountains this weekend",
        "short one",
    ]
    part = write_part(layout, "p", texts, lang="eng")
    config = NearDedupConfig(threshold=0.8, num_partitions=2)
    with make_pipeline() as p:
        out = p | beam.Create([part]) | DropNearDuplicates(config, layout)
        assert_that(out | beam.Map(lambda part: part.part_id), equal_to(["p"]))
    rejected = {r["text"] for r in rejects_of(layout, "near_dedup", "p")}
    kept = {r["text"] for r in rows_of(layout.part("near_dedup", "p"))}
    assert texts[3] in kept and texts[4] in kept
    assert len(rejected) == 1 and rejected <= {LONG, LONG + " and beyond"}
    assert len(kept) == 4


def test_dedup_does_not_depend_on_partitioning_or_part_order(layout, make_pipeline, tmp_path):
    texts = [f"Sentence number {i % 7} of the test corpus, repeated on purpose." for i in range(40)]
    parts = [write_part(layout, f"p{i}", texts[i * 10 : (i + 1) * 10]) for i in range(4)]
    results = []
    for num_partitions, order in ((1, parts), (5, parts[::-1])):
        with make_pipeline() as p:
            _ = p | beam.Create(order) | DropExactDuplicates(ExactDedupConfig(num_partitions=num_partitions), layout)
        results.append(
            sorted(r["segment_id"] for part in parts for r in rows_of(layout.part("exact_dedup", part.part_id)))
        )
    assert results[0] == results[1] and len(results[0]) == 7
