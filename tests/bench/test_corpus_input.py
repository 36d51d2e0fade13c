"""The corpus benchmark's inputs: planted copies at the stated rates, and the duplicate rate measured."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus_input import describe, paragraphs, with_duplicates, write_input

SENTENCES = [
    "Der Hund schläft im Garten unter dem alten Baum.",
    "Le chat dort sur le canapé depuis ce matin.",
    "Собака спит в саду под старым деревом.",
    "The committee will publish its report next week.",
    "El tren llegó con dos horas de retraso.",
]


@settings(max_examples=30, deadline=None)
@given(exact=st.floats(0, 1), near=st.floats(0, 1), seed=st.integers(0, 100))
def test_copies_are_planted_at_the_stated_rates(exact: float, near: float, seed: int) -> None:
    lines = [f"{s} ({i})" for i, s in enumerate(SENTENCES * 20)]
    out = with_duplicates(lines, exact, near, seed)
    assert len(out) == len(lines) + round(exact * len(lines)) + round(near * len(lines))
    assert set(lines) <= set(out)
    exact_copies = sum(1 for line in out if line in set(lines)) - len(lines)
    assert exact_copies >= round(exact * len(lines)) - round(near * len(lines))  # a near copy may equal a line


def test_the_duplicate_rate_counts_lines_equal_up_to_case_and_punctuation() -> None:
    lines = ["Der Hund schläft.", "der hund schläft", "Le chat dort.", "Le chat dort !"]
    stats = describe(lines)
    assert (stats.lines, stats.distinct_keys, stats.key_duplicate_rate) == (4, 2, 0.5)
    assert describe(SENTENCES).key_duplicate_rate == 0.0


def test_every_line_is_written_once_as_text_and_as_jsonl(tmp_path: Path) -> None:
    text_dir, jsonl_dir = write_input(SENTENCES, tmp_path, num_files=2)
    written = [line for path in sorted(text_dir.iterdir()) for line in path.read_text().splitlines()]
    assert written == SENTENCES
    assert sum(len(p.read_text().splitlines()) for p in jsonl_dir.iterdir()) == len(SENTENCES)


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(1, 45), min_size=1, max_size=4), per_paragraph=st.integers(1, 20))
def test_paragraphs_use_every_line_once_and_never_mix_languages(sizes: list[int], per_paragraph: int) -> None:
    by_language = {f"l{k}": [f"{SENTENCES[i % 5]} <{k}:{i}>" for i in range(n)] for k, n in enumerate(sizes)}
    out = paragraphs(by_language, per_paragraph)
    marks = [[tuple(map(int, m)) for m in re.findall(r"<(\d+):(\d+)>", p)] for p in out]
    assert all(0 < len(m) <= per_paragraph and len({k for k, _ in m}) == 1 for m in marks)
    assert [mark for m in marks for mark in m] == [(k, i) for k, n in enumerate(sizes) for i in range(n)]
