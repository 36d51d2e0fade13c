"""The shard benchmark's input: lines by language written as a corpus build the shard build accepts, and
the samples and planted copies that keep each language's lines to itself."""

from __future__ import annotations

import gzip
from pathlib import Path

from bench.data_quality import distinct_lines, distinct_lines_by_language
from bench.shard_input import describe_corpus, sample_by_language, with_duplicates_by_language, write_corpus
from xlmforge.pipelines.common.parts import read_batches
from xlmforge.pipelines.shards.inputs import find_inputs

LINES = {
    "deu": [f"Der Hund schläft im Garten unter dem alten Baum, Nummer {i}." for i in range(30)],
    "fra": ["Le chat dort sur le canapé depuis ce matin.", "Le train est arrivé avec deux heures de retard."],
    "rus": ["Собака спит в саду под старым деревом.", "Комитет опубликует свой доклад на следующей неделе."],
}


def test_every_line_is_written_once_under_its_language_as_a_corpus_build(tmp_path: Path) -> None:
    corpus = write_corpus(LINES, tmp_path / "corpus")
    inputs = find_inputs([str(corpus)])
    assert inputs.counts == {lang: len(lines) for lang, lines in LINES.items()}
    for file in inputs.files:
        rows = [row for batch in read_batches(file.path) for row in batch.to_pylist()]
        assert [row["text"] for row in rows] == LINES[file.key]
        assert {row["lang"] for row in rows} == {file.key}
        assert len({row["segment_id"] for row in rows}) == len(rows)
    assert describe_corpus(LINES)["exact_duplicate_rate"] == 0.0


def test_writing_again_replaces_the_previous_input(tmp_path: Path) -> None:
    write_corpus(LINES, tmp_path / "corpus")
    corpus = write_corpus({"fra": LINES["fra"]}, tmp_path / "corpus")
    assert find_inputs([str(corpus)]).counts == {"fra": 2}


def test_samples_keep_the_language_mix_and_nest() -> None:
    small, large = sample_by_language(LINES, 0.1), sample_by_language(LINES, 0.5)
    assert {lang: len(lines) for lang, lines in large.items()} == {"deu": 15, "fra": 1, "rus": 1}
    for lang, lines in small.items():
        assert lines == large[lang][: len(lines)] and set(lines) <= set(LINES[lang])


def test_planted_copies_are_of_the_same_language() -> None:
    planted = with_duplicates_by_language(LINES, exact=0.5, near=0.0)
    for lang, lines in planted.items():
        assert set(lines) == set(LINES[lang]) and len(lines) == len(LINES[lang]) + round(0.5 * len(LINES[lang]))
    assert describe_corpus(planted)["exact_duplicate_rate"] > 0.3


def test_distinct_lines_keep_each_line_once_under_its_first_language(tmp_path: Path) -> None:
    (tmp_path / "ntrex").mkdir()
    (tmp_path / "tatoeba").mkdir()
    (tmp_path / "ntrex" / "deu.txt").write_text("Berlin\nDer Hund schläft.\nDer Hund schläft.\n", encoding="utf-8")
    (tmp_path / "ntrex" / "eng.txt").write_text("Berlin\nThe dog sleeps.\n", encoding="utf-8")
    rows = "label\ttext\teng\ndeu\tDie Katze schläft.\tThe cat sleeps.\ndeu\tBerlin\tThe dog sleeps.\n"
    with gzip.open(tmp_path / "tatoeba" / "deu-eng.tsv.gz", "wt", encoding="utf-8") as f:
        f.write(rows)
    by_lang = distinct_lines_by_language(tmp_path)
    assert by_lang == {"deu": ["Berlin", "Der Hund schläft.", "Die Katze schläft."],
                       "eng": ["The dog sleeps.", "The cat sleeps."]}  # fmt: skip
    assert distinct_lines(tmp_path) == sorted(line for lines in by_lang.values() for line in lines)
