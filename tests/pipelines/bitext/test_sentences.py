"""Sentence splitting: per-script rules, the Thai fallback, the hard cap, and recall on NTREX."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.alignment_data import read_ntrex
from xlmforge.pipelines.bitext.sentences import (
    MAX_SENTENCE_CHARS,
    UNPUNCTUATED_SOFT_CHARS,
    sentence_spans,
    split_sentences,
)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("eng", "Mr. Smith met Dr. J. Jones at 5 p.m. in the U.S. capital. They talked! Why? Nobody knows.",
         ["Mr. Smith met Dr. J. Jones at 5 p.m. in the U.S. capital.", "They talked!", "Why?", "Nobody knows."]),
        ("eng", 'He said "no." Then he left... and came back. It cost $3.5 million.',
         ['He said "no."', "Then he left... and came back.", "It cost $3.5 million."]),
        ("deu", "Am 3. Oktober 2018 wählte Bayern. Das war z.B. für die CSU bitter. Im Jahr 2018. Die Wahl",
         ["Am 3. Oktober 2018 wählte Bayern.", "Das war z.B. für die CSU bitter.", "Im Jahr 2018.", "Die Wahl"]),
        ("fra", "« Nous voulons un accord. » M. Macron l’a dit. « Pourquoi ? », a-t-il demandé.",
         ["« Nous voulons un accord. »", "M. Macron l’a dit.", "« Pourquoi ? », a-t-il demandé."]),
        ("rus", "В 2018 г. В. Путин приехал в Москву. Это т.е. важно. Правда?",
         ["В 2018 г. В. Путин приехал в Москву.", "Это т.е. важно.", "Правда?"]),
        ("zho", "他来了。她走了！真的吗?是的，我知道", ["他来了。", "她走了！", "真的吗?", "是的，我知道"]),
        ("jpn", "「準備はいいか？」と彼は言った。天気は良い。", ["「準備はいいか？」と彼は言った。", "天気は良い。"]),
        ("hin", "यह पहला वाक्य है। यह दूसरा वाक्य है।", ["यह पहला वाक्य है।", "यह दूसरा वाक्य है।"]),
        ("ara", "هل أنت بخير؟ نعم. شكرا لك", ["هل أنت بخير؟", "نعم.", "شكرا لك"]),
        ("urd", "یہ پہلا جملہ ہے۔ یہ دوسرا ہے۔", ["یہ پہلا جملہ ہے۔", "یہ دوسرا ہے۔"]),
        ("amh", "ይህ የመጀመሪያው ነው። ይህ ሁለተኛው ነው፡፡ ሦስተኛ", ["ይህ የመጀመሪያው ነው።", "ይህ ሁለተኛው ነው፡፡", "ሦስተኛ"]),
        ("ell", "Τι κάνεις; Καλά. Ο κ. Παπαδόπουλος ήρθε.", ["Τι κάνεις;", "Καλά.", "Ο κ. Παπαδόπουλος ήρθε."]),
        ("eng", "Headline\n\n  First line.\r\nSecond line", ["Headline", "First line.", "Second line"]),
    ],
)  # fmt: skip
def test_script_rules(lang, text, expected):
    assert split_sentences(text, lang) == expected


def test_thai_keeps_lines_and_cuts_long_ones_at_spaces():
    short = "สมาชิกสมัชชามีความกังวลว่า เรื่องนี้อาจนำไปสู่การเยาะเย้ย"
    assert split_sentences(f"{short}\n{short}", "tha") == [short, short]
    paragraph = " ".join([short] * 8)
    pieces = split_sentences(paragraph, "tha")
    assert len(pieces) > 1
    assert all(len(p) <= UNPUNCTUATED_SOFT_CHARS for p in pieces)
    assert " ".join(pieces) == paragraph


@pytest.mark.parametrize("unit", ["word ", "漢字", "नमस्ते"])
def test_single_100kb_line_is_cut_into_bounded_pieces(unit):
    line = unit * (100_000 // len(unit))
    pieces = split_sentences(line, "eng")
    assert all(0 < len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert len(pieces) <= 2 * len(line) // MAX_SENTENCE_CHARS + 1
    assert "".join("".join(pieces).split()) == "".join(line.split())
    # A hard cut never leaves a combining mark at the start of a piece.
    assert all(p[0] not in "्े" for p in pieces)


def test_empty_and_blank_text():
    assert split_sentences("", "eng") == []
    assert split_sentences(" \n\t\n ", "eng") == []


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="unknown language code 'en'"):
        split_sentences("Hello.", "en")
    with pytest.raises(ValueError, match="max_chars"):
        split_sentences("Hello.", "eng", max_chars=1)


_ALPHABET = st.sampled_from(list('ab Zé.!?。！？।؟\n\t"»«「」と,1 ') + ["Mr.", "U.S.", "ไทย ", "漢", "ю", "ः"])


@settings(max_examples=300, deadline=None)
@given(text=st.lists(_ALPHABET, max_size=80).map("".join), lang=st.sampled_from(["eng", "deu", "zho", "tha", "ell"]))
def test_splitting_keeps_every_non_space_character_in_order(text, lang):
    spans = sentence_spans(text, lang, max_chars=12)
    pieces = [text[a:b] for a, b in spans]
    assert all(p and p == p.strip() and len(p) <= 12 for p in pieces)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
    assert "".join("".join(pieces).split()) == "".join(text.split())


@pytest.mark.parametrize("lang", ["eng", "deu", "fra", "rus", "ara", "hin", "zho", "jpn"])
def test_recall_of_ntrex_line_ends(shared_data, lang):
    """Lines that end a sentence, run together, are found again (headlines without a stop are not)."""
    lines = read_ntrex(lang, shared_data)[:600]
    separator = "" if lang in ("zho", "jpn") else " "
    ends, position = set(), 0
    for line in lines[:-1]:
        position += len(line)
        if line.rstrip()[-1:] in ".!?。！？।؟\"”»'":
            ends.add(position)
        position += len(separator)
    found = {end for _, end in sentence_spans(separator.join(lines), lang)}
    assert len(found & ends) / len(ends) >= 0.95
