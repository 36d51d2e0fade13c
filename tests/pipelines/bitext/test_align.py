"""Sentence alignment: every bead kind, anchors, bad input, coverage properties, and F1 on NTREX."""

from __future__ import annotations

import collections
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.alignment_data import (
    LinkCounts,
    PerturbConfig,
    links,
    perturbed_document_pairs,
    predicted_unit_links,
    read_ntrex,
    score_links,
)
from xlmforge.pipelines.bitext.align import Bead, align_sentences, bead_reject_reason
from xlmforge.pipelines.bitext.sentences import split_sentences
from xlmforge.pipelines.corpus.config import BEAD_KINDS, AlignConfig

ENG = [
    "The city council approved the new budget on Tuesday.",
    "It includes 12 million euros for schools.",
    "Critics said the plan was rushed.",
    "The mayor rejected that claim.",
    "Construction will start in March 2025 and take two years.",
    "Residents can comment online until Friday.",
]
DEU = [
    "Der Stadtrat hat am Dienstag den neuen Haushalt beschlossen.",
    "Er enthält 12 Millionen Euro für Schulen.",
    "Kritiker sagten, der Plan sei überstürzt gewesen.",
    "Der Bürgermeister wies diesen Vorwurf zurück.",
    "Der Bau soll im März 2025 beginnen und zwei Jahre dauern.",
    "Anwohner können bis Freitag online Stellung nehmen.",
]


def shape(beads: list[Bead]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [(b.src, b.tgt) for b in beads]


def one_to_one(pairs: list[tuple[int, int]]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [((s,), (t,)) for s, t in pairs]


def test_translation_aligns_one_to_one():
    beads = align_sentences(ENG, DEU)
    assert shape(beads) == one_to_one([(i, i) for i in range(6)])
    assert all(b.kind == "1-1" and 0 < b.score <= 1 and bead_reject_reason(b, AlignConfig()) is None for b in beads)


def test_merged_target_sentences_make_a_2_1_bead():
    tgt = [
        *DEU[:2],
        "Kritiker sagten, der Plan sei überstürzt gewesen, doch der Bürgermeister wies das zurück.",
        *DEU[4:],
    ]
    beads = align_sentences(ENG, tgt)
    assert ((2, 3), (2,)) in shape(beads)
    assert [b.kind for b in beads].count("1-1") == 4


def test_split_target_sentence_makes_a_1_2_bead():
    tgt = [*DEU[:4], "Der Bau soll im März 2025 beginnen.", "Er wird zwei Jahre dauern.", DEU[5]]
    assert ((4,), (4, 5)) in shape(align_sentences(ENG, tgt))


def test_inserted_sentence_makes_a_0_1_bead():
    tgt = [*DEU[:4], "Das Wetter bleibt am Wochenende sonnig und warm, sagen die Meteorologen.", *DEU[4:]]
    beads = align_sentences(ENG, tgt)
    assert shape(beads) == [*one_to_one([(i, i) for i in range(4)]), ((), (4,)), ((4,), (5,)), ((5,), (6,))]
    assert bead_reject_reason(beads[4], AlignConfig()) == "unaligned_target"


def test_content_moved_across_a_boundary_makes_a_2_2_bead():
    src = [
        ENG[0],
        "The council met for 6 hours on Tuesday evening and, after a heated debate about the 2025 school "
        "budget, finally voted.",
        "The vote was 5 to 4.",
        *ENG[3:],
    ]
    tgt = [DEU[0], "Der Rat tagte am Dienstagabend 6 Stunden lang.", "Nach einer hitzigen Debatte über den Schuletat "
                   "2025 fiel die Abstimmung mit 5 zu 4 knapp aus.", *DEU[3:]]  # fmt: skip
    assert ((1, 2), (1, 2)) in shape(align_sentences(src, tgt))


def test_numbers_locate_a_dropped_sentence_that_lengths_cannot():
    src = [
        f"In {year} the club sold {sold} tickets."
        for year, sold in [(2019, "4,512"), (2020, "3,978"), (2021, "5,120"), (2022, "6,004")]
    ]
    tgt = [
        f"{year} verkaufte der Verein {sold} Karten."
        for year, sold in [(2019, "4.512"), (2021, "5.120"), (2022, "6.004")]
    ]
    beads = align_sentences(src, tgt)
    assert shape(beads) == [((0,), (0,)), ((1,), ()), ((2,), (1,)), ((3,), (2,))]
    reasons = collections.Counter(bead_reject_reason(b, AlignConfig()) for b in beads)
    assert reasons == {None: 3, "unaligned_source": 1}


def test_urls_and_verbatim_tokens_are_anchors():
    src = [
        "Read the report.",
        "It is online at https://example.org/report-2024.",
        "Greenpeace welcomed it.",
        "Others did not.",
    ]
    tgt = ["Lesen Sie den Bericht.", "Greenpeace begrüßte ihn.", "Andere nicht."]
    beads = align_sentences(src, tgt)
    assert ((2,), (1,)) in shape(beads) and ((1,), ()) in shape(beads)
    tgt_with_url = [tgt[0], "Er steht unter https://example.org/report-2024 im Netz.", *tgt[1:]]
    assert shape(align_sentences(src, tgt_with_url)) == one_to_one([(i, i) for i in range(4)])


def test_empty_documents():
    assert align_sentences([], []) == []
    assert shape(align_sentences([], DEU[:2])) == [((), (0,)), ((), (1,))]
    assert shape(align_sentences(ENG[:1], [])) == [((0,), ())]


def test_single_100kb_line_becomes_counted_rejects():
    src = split_sentences("lorem ipsum " * 8_500, "eng")  # one 100 kB line without punctuation
    start = time.perf_counter()
    beads = align_sentences(src, DEU[:3])
    assert time.perf_counter() - start < 5
    assert sorted(i for b in beads for i in b.src) == list(range(len(src)))
    reasons = collections.Counter(bead_reject_reason(b, AlignConfig()) for b in beads)
    assert reasons["unaligned_source"] >= len(src) - 6


def test_wildly_unbalanced_lengths_keep_no_pair():
    beads = align_sentences(["Yes."], [" ".join(DEU) * 10])
    assert all(bead_reject_reason(b, AlignConfig()) is not None for b in beads)


def test_mismatched_sentence_counts_cover_both_sides():
    beads = align_sentences(ENG * 5, DEU * 2)
    assert sorted(i for b in beads for i in b.src) == list(range(30))
    assert sorted(j for b in beads for j in b.tgt) == list(range(12))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variance": 0}, "variance"),
        ({"length_ratio": -1.0}, "length_ratio"),
        ({"priors": (("1-1", 0.9), ("1-0", 0.05))}, "priors"),
        ({"priors": (("1-1", 0.9), ("1-0", 0.05), ("0-1", 0.05), ("3-1", 0.01))}, "priors"),
        ({"number_bonus": -1}, "number_bonus"),
        ({"band_min": 50, "band_max": 10}, "band_max"),
        ({"min_score": 2}, "min_score"),
    ],
)
def test_config_errors_name_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        AlignConfig(**changes)


_SENTENCES = st.lists(st.sampled_from(ENG + DEU + ["", "Ja.", "2024", "「はい」", "ไทย ไทย"]), max_size=25)


@settings(max_examples=150, deadline=None)
@given(src=_SENTENCES, tgt=_SENTENCES)
def test_beads_cover_every_sentence_once_in_order(src, tgt):
    beads = align_sentences(src, tgt, AlignConfig(band_min=2))
    assert [i for b in beads for i in b.src] == list(range(len(src)))
    assert [j for b in beads for j in b.tgt] == list(range(len(tgt)))
    assert all(b.kind in BEAD_KINDS and 0 <= b.score <= 1 for b in beads)


@settings(max_examples=100, deadline=None)
@given(document=_SENTENCES)
def test_a_document_aligns_with_itself_on_the_diagonal(document):
    assert shape(align_sentences(document, document)) == one_to_one([(i, i) for i in range(len(document))])


def test_perturbed_pairs_have_every_bead_kind_and_a_consistent_gold(shared_data):
    pairs = perturbed_document_pairs(
        read_ntrex("eng", shared_data), read_ntrex("deu", shared_data), "deu", PerturbConfig()
    )
    kinds = collections.Counter(f"{len(s)}-{len(t)}" for pair in pairs for s, t in pair.gold)
    assert {"1-1", "2-1", "1-2", "1-0", "0-1"} <= kinds.keys()
    for pair in pairs:
        assert [i for s, _ in pair.gold for i in s] == list(range(len(pair.src)))
        assert [j for _, t in pair.gold for j in t] == list(range(len(pair.tgt)))


@pytest.mark.parametrize("lang", ["deu", "rus", "ara", "hin", "zho", "jpn", "tha"])
def test_f1_on_perturbed_ntrex_documents(shared_data, lang):
    """Split each line into sentences, align, project links back to lines: F1 >= 0.95 per pair.

    Thai has no sentence punctuation; its lines are kept as units, which is the line fallback."""
    eng, other = read_ntrex("eng", shared_data), read_ntrex(lang, shared_data)
    counts = LinkCounts()
    for pair in perturbed_document_pairs(eng, other, lang, PerturbConfig(seed=1)):
        counts += score_links(predicted_unit_links(pair, "eng", lang, AlignConfig(), "lines"), links(pair.gold))
    assert counts.f1 >= 0.95, counts


def test_a_2000_sentence_document_pair_is_fast_and_accurate(shared_data):
    eng, deu = read_ntrex("eng", shared_data), read_ntrex("deu", shared_data)
    [pair] = perturbed_document_pairs(eng, deu, "deu", PerturbConfig(doc_lines=len(eng), seed=1))
    start = time.perf_counter()
    beads = align_sentences(pair.src, pair.tgt)
    assert time.perf_counter() - start < 5
    assert score_links(links(shape(beads)), links(pair.gold)).f1 >= 0.95


def test_band_widens_around_a_long_gap(shared_data, caplog):
    eng, deu = read_ntrex("eng", shared_data)[:800], read_ntrex("deu", shared_data)[:800]
    tgt = deu[:300] + deu[500:]  # 200 sentences missing: the path leaves the first band
    gold = {(i, i if i < 300 else i - 200) for i in range(800) if not 300 <= i < 500}
    with caplog.at_level("DEBUG", logger="xlmforge.pipelines.bitext.align"):
        counts = score_links(links(shape(align_sentences(eng, tgt))), gold)
    assert "widening" in caplog.text
    assert counts.precision >= 0.95 and counts.recall >= 0.95  # measured 0.972 and 0.977
