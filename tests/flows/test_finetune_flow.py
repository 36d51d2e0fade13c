"""The finetune flow: scores and export written, the per-language table published as artifacts, and
a rerun with nothing changed reuses the fine-tuned classifier while a changed training file retrains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.flows.test_corpus_flow import read_artifacts
from tests.training.labelled_tasks import object_rows, pretrain_tiny, write_jsonl, write_tsv
from xlmforge.flows.finetune import finetune
from xlmforge.training.config import FinetuneConfig


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    return pretrain_tiny(tmp_path_factory.mktemp("pretrain"))


def test_finetune_flow_publishes_scores_and_reuses_what_did_not_change(prefect_harness, pretrained, tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", object_rows("en", range(120)))
    evaluation = write_tsv(tmp_path / "eval.tsv", object_rows("en", range(180, 216)) + object_rows("de", range(216)))
    config = FinetuneConfig(checkpoint=str(pretrained), train=str(train), eval=(str(evaluation),),
                            out_dir=str(tmp_path / "ft"), num_epochs=1, device="cpu")  # fmt: skip
    first = finetune(config)
    assert not first.reused and first.train_langs == ["en"] and first.labels == ["far", "near"]
    assert set(first.scores) == {"de", "en"} and first.scores["de"]["num_examples"] == 216
    assert first.zero_shot_average["accuracy"] == first.scores["de"]["accuracy"]  # the one zero-shot language
    assert json.loads(Path(first.path).read_text())["scores"] == first.scores
    assert (Path(first.export_dir) / "config.json").is_file()

    rows = json.loads(read_artifacts("zero-shot-transfer")[0].data)
    assert [(row["lang"], row["setting"], row["examples"]) for row in rows] == [("en", "trained on", 36),
                                                                               ("de", "zero-shot", 216)]
    summary = read_artifacts("zero-shot-transfer-summary")[0].data
    assert "| de | zero-shot | 216 |" in summary and "zero-shot average over 1 language: accuracy" in summary

    again = finetune(config)
    assert again.reused and again.classifier == first.classifier
    write_jsonl(train, object_rows("en", range(150)))
    assert not finetune(config).reused
