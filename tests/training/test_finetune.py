"""Fine-tuning: the classifier learns its training language, early stopping keeps the best dev epoch,
frozen embeddings stay as pretrained, inputs are framed as in XLM, and the export to transformers'
XLMForSequenceClassification gives the same logits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, XLMForSequenceClassification

from tests.training.labelled_tasks import object_rows, pair_rows, write_jsonl, write_tsv
from tests.training.xlm_runs import tiny_run
from xlmforge.training.checkpoint import load_checkpoint
from xlmforge.training.config import FinetuneConfig
from xlmforge.training.export import export_to_hf
from xlmforge.training.finetune import finetune, load_classifier
from xlmforge.training.labelled import read_labelled
from xlmforge.training.loop import train
from xlmforge.training.task import collate
from xlmforge.training.zero_shot import macro_f1, zero_shot_scores


@pytest.fixture(scope="module")
def pretrained(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("pretrain")
    return Path(train(tiny_run(corpus, run, train={"max_steps": 2})).checkpoint)


@pytest.fixture(scope="module")
def object_task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("object_task")
    return {"train": write_tsv(root / "train.tsv", object_rows("en", range(180))),
            "dev": write_tsv(root / "dev.tsv", object_rows("en", range(180, 216))),
            "eval": write_jsonl(root / "eval.jsonl", object_rows("en", range(180, 216)) + object_rows("fr", range(216))
                                + object_rows("de", range(216)))}  # fmt: skip


def config(pretrained: Path, task: dict[str, Path], out_dir: Path, **options) -> FinetuneConfig:
    files = {"train": str(task["train"]), "eval": (str(task["eval"]),)}
    return FinetuneConfig(checkpoint=str(pretrained), out_dir=str(out_dir), batch_size=16, device="cpu",
                          **files | options)  # fmt: skip


def test_the_classifier_learns_its_training_language(pretrained, object_task, tmp_path):
    result = finetune(config(pretrained, object_task, tmp_path, lr=3e-3, num_epochs=8))
    assert result.best_epoch == 8 and len(result.history) == 8
    assert result.history[-1]["train_loss"] < 0.1 < result.history[0]["train_loss"]
    found = zero_shot_scores(result.checkpoint, [str(object_task["eval"])])
    scores = found.by_lang
    assert sorted(scores) == ["de", "en", "fr"] and found.train_langs == ["en"] and found.labels == ["far", "near"]
    zero_shot = (scores["de"].accuracy + scores["fr"].accuracy) / 2
    assert found.transfer_average["accuracy"] == pytest.approx(zero_shot)  # English is not averaged in
    assert (scores["en"].num_examples, scores["fr"].num_examples) == (36, 216)
    assert scores["en"].accuracy > 0.9 and scores["en"].macro_f1 > 0.9  # held-out English sentences
    assert scores["fr"].majority == 0.5


def test_early_stopping_keeps_the_best_dev_epoch(pretrained, object_task, tmp_path):
    # A learning rate too small to change a prediction: the dev accuracy never improves after epoch 1.
    cfg = config(pretrained, object_task, tmp_path, dev=str(object_task["dev"]), lr=1e-9, num_epochs=10, patience=2)
    result = finetune(cfg)
    assert [record["epoch"] for record in result.history] == [1, 2, 3] and result.best_epoch == 1
    assert all("dev_accuracy" in record for record in result.history)
    assert Path(result.checkpoint).name == "step-00000001.pt"
    assert [p.name for p in (tmp_path / "model").glob("*.pt")] == ["step-00000001.pt"]


def test_frozen_embeddings_stay_as_pretrained(pretrained, object_task, tmp_path):
    result = finetune(config(pretrained, object_task, tmp_path, lr=3e-3, num_epochs=1, freeze_embeddings=True))
    before, after = load_checkpoint(pretrained)["model"], load_checkpoint(Path(result.checkpoint))["model"]
    for name in ("token_emb.weight", "pos_emb.weight", "lang_emb.weight"):
        assert torch.equal(before[name], after[f"encoder.{name}"]), name
    assert not torch.equal(before["blocks.0.ffn.up.weight"], after["encoder.blocks.0.ffn.up.weight"])


def test_pairs_are_framed_as_in_xlm(pretrained, tmp_path):
    rows = pair_rows("fr", range(2))
    same_language = [{"text": "the cat eats.", "text_pair": "the cat sees.", "label": "no", "lang": "en"}]
    train_file = write_jsonl(tmp_path / "train.jsonl", rows)
    eval_file = write_jsonl(tmp_path / "eval.jsonl", same_language)
    result = finetune(FinetuneConfig(checkpoint=str(pretrained), train=str(train_file), eval=(str(eval_file),),
                                     out_dir=str(tmp_path / "ft"), num_epochs=1, device="cpu"))  # fmt: skip
    _, task, _ = load_classifier(result.checkpoint)
    translation = task.encode(read_labelled(train_file).examples[0])
    head = len(task.tokenizer.encode(rows[0]["text"])) + 2
    assert translation.langs == [task.languages.index("en")] * head + [task.languages.index("fr")] * (
        len(translation.tokens) - head)  # fmt: skip
    assert translation.positions[head] == 0  # restarts at the translation, as TLM
    monolingual = task.encode(read_labelled(eval_file).examples[0])
    assert monolingual.positions == list(range(len(monolingual.tokens)))  # runs on, as XLM's XNLI


def test_the_export_gives_transformers_the_same_logits(pretrained, tmp_path):
    train_file = write_tsv(tmp_path / "train.tsv", pair_rows("fr", range(0, 120)) + pair_rows("de", range(120, 180)))
    result = finetune(FinetuneConfig(checkpoint=str(pretrained), train=str(train_file), eval=(str(train_file),),
                                     out_dir=str(tmp_path / "ft"), num_epochs=2, lr=1e-3, device="cpu"))  # fmt: skip
    out_dir = export_to_hf(result.checkpoint, tmp_path / "hf")
    ours, task, _ = load_classifier(result.checkpoint)
    theirs = XLMForSequenceClassification.from_pretrained(out_dir).eval()
    assert theirs.config.id2label == {0: "no", 1: "yes"} and not theirs.config.causal
    assert ours.proj.bias.abs().sum() > 0  # trained, so the test covers the head's bias too
    examples = read_labelled(train_file).examples[:6] + read_labelled(train_file).examples[-6:]
    batch = collate([task.encode(example) for example in examples])
    assert not batch.padding_mask.all()  # different lengths: padding is covered
    with torch.no_grad():
        our_logits = ours(batch.tokens, batch.langs, batch.positions, batch.padding_mask)
        hf_logits = theirs(input_ids=batch.tokens, langs=batch.langs, position_ids=batch.positions,
                           attention_mask=batch.padding_mask.long()).logits  # fmt: skip
    assert torch.allclose(our_logits, hf_logits, atol=1e-5)
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    example = examples[0]
    assert tokenizer(example.text, example.text_pair)["input_ids"] == task.encode(example).tokens


def test_macro_f1_is_the_mean_of_the_labels_f1():
    assert macro_f1([0, 0, 1, 1], [0, 0, 1, 1]) == 1.0
    gold, predicted = [0, 0, 1, 1, 1], [0, 1, 1, 1, 0]
    f1_of_0 = 2 * 1 / (2 + 2)  # one true positive; two gold, two predicted
    f1_of_1 = 2 * 2 / (3 + 3)
    assert macro_f1(gold, predicted) == pytest.approx((f1_of_0 + f1_of_1) / 2)
    assert macro_f1([0, 0], [1, 1]) == 0.0  # labels never right score 0, not skipped
