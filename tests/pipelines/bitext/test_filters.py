"""Bitext filters: each named filter fires, bad input, Tatoeba keep rates."""

from __future__ import annotations

import collections

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.alignment_data import read_tatoeba
from xlmforge.pipelines.bitext.filters import FILTER_NAMES, bitext_verdicts
from xlmforge.pipelines.corpus.config import BitextFilterConfig


def first_failing_filter(src, tgt, src_lang, tgt_lang, config=None):
    """The name of the first filter one pair fails, or None."""
    return bitext_verdicts([src], [tgt], [src_lang], [tgt_lang], config)[0][0]


@pytest.mark.parametrize(
    ("src", "tgt", "tgt_lang"),
    [
        ("The meeting starts at 9:30 tomorrow.", "Die Sitzung beginnt morgen um 9.30 Uhr.", "deu"),
        ("I have 2 cats.", "J'ai deux chats.", "fra"),
        ("In 2013 the bridge opened.", "Мост открыли в две тысячи тринадцатом году.", "rus"),
        ("My name is Andrea.", "我叫Andrea。", "zho"),
        ("He paid 1,000 dollars.", "他付了1000美元。", "zho"),
        ("Is it raining?", "ฝนตกหรือเปล่า", "tha"),
        ("Where is the station?", "أين المحطة؟", "ara"),
    ],
)
def test_translations_pass(src, tgt, tgt_lang):
    assert first_failing_filter(src, tgt, "eng", tgt_lang) is None


@pytest.mark.parametrize(
    ("src", "tgt", "tgt_lang", "reason"),
    [
        ("Hello there.", " ... ", "deu", "empty_side"),
        ("Hello there.", "", "deu", "empty_side"),
        ("word " * 300, "Wort " * 300, "deu", "too_long"),
        ("Download the app!", "download the APP", "deu", "identical_sides"),
        ("Where is the station?", "Where is the station, please?", "rus", "wrong_script"),
        ("Where is the station?", "Где вокзал?", "ara", "wrong_script"),
        ("Yes.", "Nein, das habe ich nie gesagt und werde es auch nie sagen.", "deu", "length_ratio"),
        ("The bridge opened in 2013.", "Die Brücke wurde 2014 eröffnet.", "deu", "numbers_mismatch"),
        ("He paid 1,000 dollars.", "Er zahlte 100 Dollar.", "deu", "numbers_mismatch"),
    ],
)
def test_each_filter_rejects_under_its_name(src, tgt, tgt_lang, reason):
    assert first_failing_filter(src, tgt, "eng", tgt_lang) == reason


def test_a_pair_is_rejected_by_the_first_filter_it_fails():
    # Empty on one side and numbers that differ: the earlier filter names the reject.
    assert first_failing_filter("It costs 15 euros.", "!!!", "eng", "deu") == "empty_side"


def test_filters_switch_off_with_none():
    config = BitextFilterConfig(max_length=None, max_length_ratio=None, min_script_share=None)
    assert first_failing_filter("word " * 300, "Wort " * 300, "eng", "deu", config) is None
    assert first_failing_filter("Yes.", "Nein, das habe ich nie gesagt, niemals.", "eng", "deu", config) is None
    assert first_failing_filter("Where is it?", "Where is it now?", "eng", "rus", config) is None


def test_a_document_with_the_wrong_language_on_one_side_is_rejected_and_counted():
    """A "Russian" side that is English: every pair is a counted reject, nothing is lost silently."""
    english = ["The council met on Tuesday.", "It approved the budget.", "Critics were not convinced."]
    reasons, details = bitext_verdicts(
        english, [s.replace(".", "!") + " Indeed." for s in english], ["eng"] * 3, ["rus"] * 3
    )
    assert reasons == ["wrong_script"] * 3
    assert all(d.startswith("measured") for d in details)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError, match="differ in length"):
        bitext_verdicts(["a", "b"], ["c"], ["eng"], ["deu"])
    with pytest.raises(ValueError, match="max_length_ratio"):
        BitextFilterConfig(max_length_ratio=0.5)
    with pytest.raises(ValueError, match="min_script_share"):
        BitextFilterConfig(min_script_share=1.5)


@settings(max_examples=200, deadline=None)
@given(src=st.text(max_size=60), tgt=st.text(max_size=60), lang=st.sampled_from(["deu", "zho", "tha", "xxx"]))
def test_any_text_gets_a_known_verdict(src, tgt, lang):
    assert first_failing_filter(src, tgt, "eng", lang) in (*FILTER_NAMES, None)


@pytest.mark.parametrize("lang", ["deu", "rus", "ara", "hin", "zho", "jpn", "tha"])
def test_tatoeba_human_translations_are_kept(shared_data, lang):
    rows = read_tatoeba(lang, shared_data)
    reasons, _ = bitext_verdicts([r[1] for r in rows], [r[2] for r in rows], [lang] * len(rows), ["eng"] * len(rows))
    assert collections.Counter(reasons)[None] / len(rows) >= 0.99
