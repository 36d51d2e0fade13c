"""`xlmforge finetune` through the command line: the per-language table on a text-pair task, and bad
input (unknown label, empty text, missing column, one class, a vocabulary that does not fit the
checkpoint) as one message naming the file and line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.training.labelled_tasks import object_rows, pair_rows, pretrain_tiny, write_jsonl, write_tsv
from tests.training.xlm_corpus import train_sentencepiece
from xlmforge.cli.main import app


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    return pretrain_tiny(tmp_path_factory.mktemp("pretrain"))


def finetune(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["finetune", *map(str, args)])
    return result.exit_code, " ".join(result.output.split())


def test_finetune_prints_a_table_per_language(prefect_harness, pretrained, tmp_path):
    train = write_tsv(tmp_path / "train.tsv", pair_rows("de", range(0, 160)))
    dev = write_tsv(tmp_path / "dev.tsv", pair_rows("de", range(160, 216)))
    evaluation = write_tsv(tmp_path / "eval.tsv", pair_rows("de", range(160, 216)) + pair_rows("fr", range(216)))
    code, output = finetune(pretrained, train, "--eval", evaluation, "--dev", dev, "--out-dir", tmp_path / "ft",
                            "--epochs", 2, "--lr", 1e-3, "--batch-size", 16, "--device", "cpu")  # fmt: skip
    assert code == 0, output
    assert "Fine-tuned on en-de (labels no, yes; best epoch" in output and "zero-shot average" in output
    assert "│ en-de │ trained on │ 56 │" in output and "│ en-fr │ zero-shot │ 216 │" in output
    results = json.loads((tmp_path / "ft" / "zero_shot.json").read_text())
    assert set(results["scores"]) == {"en-de", "en-fr"} and results["train_langs"] == ["en-de"]
    assert results["zero_shot_average"]["majority"] == 0.5  # alternating labels: chance is one half
    assert (tmp_path / "ft" / "hf" / "config.json").is_file()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {"train": write_tsv(tmp_path / "train.tsv", object_rows("en", range(60))),
            "eval": write_jsonl(tmp_path / "eval.jsonl", object_rows("fr", range(20)))}  # fmt: skip


def refused(pretrained: Path, files: dict[str, Path], *options) -> str:
    code, output = finetune(pretrained, files["train"], "--eval", files["eval"], "--out-dir",
                            files["train"].parent / "ft", "--device", "cpu", *options)  # fmt: skip
    assert code == 2 and "Traceback" not in output, output
    return output


def test_an_unknown_label_in_an_evaluation_file_names_its_line(prefect_harness, pretrained, files):
    rows = object_rows("fr", range(3))
    rows[1]["label"] = "middle"
    write_jsonl(files["eval"], rows)
    output = refused(pretrained, files)
    assert f"{files['eval']}:2: label 'middle' is not in the training file (its labels: far, near)" in output


def test_an_empty_text_names_its_line(prefect_harness, pretrained, files):
    rows = object_rows("en", range(10))
    rows[3]["text"] = "  "
    write_tsv(files["train"], rows)
    assert f"{files['train']}:5: empty text" in refused(pretrained, files)


def test_a_missing_column_names_the_file(prefect_harness, pretrained, files):
    write_tsv(files["train"], [{"text": row["text"], "lang": "en"} for row in object_rows("en", range(10))])
    assert f"{files['train']}:1: missing column label" in refused(pretrained, files)
    pairs = files["train"].with_name("pairs.tsv")
    write_tsv(pairs, pair_rows("fr", range(10)))
    output = refused(pretrained, files | {"train": pairs})
    assert f"{files['eval']}:1: missing column text_pair (the training file has text pairs)" in output


def test_a_training_file_of_one_class_is_refused(prefect_harness, pretrained, files):
    write_tsv(files["train"], [row for row in object_rows("en", range(60)) if row["label"] == "near"])
    output = refused(pretrained, files)
    assert f"{files['train']}: every one of its 30 examples has label 'near'" in output


def test_a_vocabulary_that_does_not_fit_the_checkpoint_is_refused(prefect_harness, pretrained, files, tmp_path):
    vocab = tmp_path / "other.model"
    vocab.write_bytes(train_sentencepiece(vocab_size=120))
    output = refused(pretrained, files, "--vocab", vocab)
    assert f"{vocab}: vocabulary of 120 pieces, but the checkpoint {pretrained} was trained with" in output
