"""The translation-pair task generated from NTREX: balanced labels (chance 0.5), hard negatives from
the same split, disjoint line ranges, and files that `xlmforge finetune` reads."""

from __future__ import annotations

import collections
import json
import random
import subprocess
import sys

from bench.translation_pairs import hard_negative
from xlmforge.training.labelled import read_labelled


def test_the_task_files_are_balanced_and_their_splits_disjoint(shared_data, tmp_path):
    out, holdout = tmp_path / "task", tmp_path / "ntrex-train"
    subprocess.run([sys.executable, "-m", "bench.translation_pairs", out, "--data-dir", shared_data, "--langs",
                    "fra,jpn", "--dev-start", "1800", "--eval-start", "1900", "--holdout-dir", holdout],
                   check=True, capture_output=True, text=True)  # fmt: skip
    files = {name: read_labelled(out / f"{name}.tsv") for name in ("train", "dev", "eval")}
    assert all(file.has_pairs and file.labels == {"yes", "no"} for file in files.values())
    assert {e.lang for e in files["train"].examples} == {e.lang for e in files["dev"].examples} == {"eng-deu"}
    assert {e.lang for e in files["eval"].examples} == {"eng-fra", "eng-jpn"}
    assert len(files["train"].examples) == 2 * 1800 and len(files["eval"].examples) == 2 * 2 * 97
    for file in files.values():  # every English text once with each label, so chance is exactly 0.5
        labels = collections.defaultdict(list)
        for example in file.examples:
            labels[(example.lang, example.text)].append(example.label)
        assert all(sorted(found) == ["no", "yes"] for found in labels.values())
    ntrex_fra = (shared_data / "ntrex" / "fra.txt").read_text(encoding="utf-8").splitlines()
    eval_lines = {" ".join(line.split()) for line in ntrex_fra[1900:]}
    assert all(e.text_pair in eval_lines for e in files["eval"].examples if e.lang == "eng-fra")  # negatives too
    english_train = {e.text for e in files["train"].examples}
    assert not english_train & {e.text for e in files["eval"].examples}
    assert json.loads((out / "task.json").read_text())["chance_accuracy"] == 0.5
    assert len((holdout / "deu.txt").read_text(encoding="utf-8").splitlines()) == 1800


def test_a_hard_negative_is_a_neighbour_or_of_similar_length():
    other = [f"line {'x' * (i % 7)} {i}" for i in range(50)]
    lines, rng = range(10, 40), random.Random(0)
    for i in lines:
        j = hard_negative(i, lines, other, rng)
        lengths = sorted(abs(len(other[k]) - len(other[i])) for k in lines if k != i)
        assert j in lines and j != i
        assert abs(j - i) <= 3 or abs(len(other[j]) - len(other[i])) <= lengths[2]
