"""Warm start (train.init_from): a model trained on en and fr continues on a manifest that adds de with
the kept vocabulary; the old languages' perplexity does not jump at the switch, de's falls; the export
follows the new languages; wrong checkpoints are refused with one message."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tests.training.xlm_corpus import train_sentencepiece, write_mono_corpus
from tests.training.xlm_runs import SUBPROCESS_ENV, tiny_run
from xlmforge.training import distributed
from xlmforge.training.checkpoint import load_checkpoint
from xlmforge.training.config import ModelConfig, RunConfig
from xlmforge.training.loop import Trainer, TrainResult, train
from xlmforge.training.model import XLM
from xlmforge.training.warm_start import language_rows, warm_start

REPO = Path(__file__).resolve().parents[2]
OLD, NEW = ("en", "fr"), ("de", "en", "fr")  # de sorts first: en and fr move from ids 0, 1 to 1, 2
STEPS = 300  # about 6 s on one CPU thread; CLM, since the tiny model learns context by CLM in far fewer steps


def run_config(manifest: Path, out_dir: Path, languages: tuple[str, ...], **train_fields: object) -> RunConfig:
    return tiny_run(manifest, out_dir, objectives={"mlm_steps": (), "clm_steps": languages},
                    data={"tokens_per_batch": 512}, optim={"lr": 3e-3, "warmup_steps": 10},
                    train={"max_steps": STEPS, "checkpoint_every": 0, "num_valid_batches": 4, "log_every": 0}
                    | train_fields)  # fmt: skip


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """en+fr, and de+en+fr encoded with the en+fr vocabulary (what vocab_policy=keep builds)."""
    root = tmp_path_factory.mktemp("grow")
    vocab = train_sentencepiece(languages=OLD)
    return {"old": write_mono_corpus(root / "old", OLD, vocab), "new": write_mono_corpus(root / "new", NEW, vocab),
            "root": root}


@pytest.fixture(scope="module")
def first_run(corpora: dict[str, Path]) -> TrainResult:
    """The en+fr run. Module fixtures start before conftest's one_thread: set it here too (2 threads: ~20x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(run_config(corpora["old"], corpora["root"] / "run-old", OLD))
    finally:
        torch.set_num_threads(threads)


def perplexity_at_start(cfg: RunConfig) -> dict[str, float]:
    """Validation perplexity of the run's model before its first step (warm-started if cfg says so)."""
    trainer = Trainer(cfg, distributed.setup("cpu"))
    if cfg.train.init_from:
        trainer.warm_start(cfg.train.init_from)
    return trainer.validate()


def test_old_languages_do_not_jump_at_the_switch_and_the_new_one_learns(corpora: dict[str, Path],
                                                                        first_run: TrainResult,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    before = first_run.valid_perplexity
    grown = run_config(corpora["new"], tmp_path / "run-new", NEW, init_from=first_run.checkpoint)
    at_switch = perplexity_at_start(grown)
    fresh = perplexity_at_start(grown.replace(train=grown.train.replace(init_from=None)))
    after = train(grown)
    for lang in OLD:
        # the same weights, the same valid batches: the same perplexity, although the language ids moved
        assert at_switch[f"clm/{lang}"] == pytest.approx(before[f"clm/{lang}"], rel=1e-4)
        assert fresh[f"clm/{lang}"] > 2 * before[f"clm/{lang}"]  # what starting over costs
        assert after.valid_perplexity[f"clm/{lang}"] < 1.5 * before[f"clm/{lang}"]
    assert after.valid_perplexity["clm/de"] < 0.5 * at_switch["clm/de"]
    assert after.first_step == 0 and after.step == STEPS  # a new run: the step counter starts again
    tree = load_checkpoint(after.checkpoint)
    assert tree["languages"] == list(NEW) and tree["model"]["lang_emb.weight"].shape == (3, 32)

    resumed = train(grown.replace(train=grown.train.replace(max_steps=STEPS + 2)))
    assert resumed.first_step == STEPS  # once the run has a checkpoint, it resumes from it, not from init_from


def test_export_follows_the_new_language_list(corpora: dict[str, Path], first_run: TrainResult,
                                              tmp_path: Path) -> None:  # fmt: skip
    from transformers import XLMWithLMHeadModel

    from xlmforge.training.export import export_to_hf

    grown = run_config(corpora["new"], tmp_path / "run", NEW, init_from=first_run.checkpoint, max_steps=1)
    exported = XLMWithLMHeadModel.from_pretrained(export_to_hf(train(grown).checkpoint, tmp_path / "hf"))
    assert exported.config.lang2id == {"de": 0, "en": 1, "fr": 2} and exported.config.n_langs == 3


def test_language_rows_follow_the_code_and_new_ones_start_at_the_mean() -> None:
    old = torch.tensor([[1.0, 0.0], [3.0, 2.0]])  # en, fr
    table = language_rows(old, ["en", "fr"], ["de", "en", "fr"], dim=2)
    assert table.tolist() == [[2.0, 1.0], [1.0, 0.0], [3.0, 2.0]]
    assert language_rows(None, ["en"], ["de", "en"], dim=2).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_a_language_the_manifest_lost_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    cfg = ModelConfig(preset="tiny", dim=32, vocab_size=50, num_langs=3, max_positions=16)
    old = XLM(cfg)
    tree = {"languages": list(NEW), "model": old.state_dict()}
    new = XLM(cfg.replace(num_langs=2))
    with caplog.at_level(logging.WARNING):
        warm_start(new, tree, ["de", "fr"])
    assert "language(s) ['en'] are not in this run's manifest" in caplog.text
    assert torch.equal(new.lang_emb.weight, old.lang_emb.weight[[0, 2]])
    ours, theirs = new.state_dict(), old.state_dict()
    assert all(torch.equal(ours[name], theirs[name]) for name in ours if name != "lang_emb.weight")


def test_a_checkpoint_that_does_not_fit_is_refused_with_one_message(corpora: dict[str, Path],
                                                                    first_run: TrainResult,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    checkpoint = first_run.checkpoint
    missing = run_config(corpora["new"], tmp_path / "a", NEW, init_from=str(tmp_path / "nowhere.pt"))
    with pytest.raises(ValueError, match=r"train.init_from: checkpoint not found: .*nowhere.pt"):
        train(missing)
    other_vocab = write_mono_corpus(tmp_path / "retrained", NEW, train_sentencepiece(languages=NEW))
    with pytest.raises(ValueError, match=rf"vocabulary of {corpora['old']} .* but this run's vocabulary "
                                         rf"{tmp_path}/retrained/spm.model differs .* vocab_policy=keep"):  # fmt: skip
        train(run_config(other_vocab, tmp_path / "b", NEW, init_from=checkpoint))
    wider = run_config(corpora["new"], tmp_path / "c", NEW, init_from=checkpoint)
    wider = wider.replace(model=wider.model.replace(dim=64, num_layers=3))
    with pytest.raises(ValueError, match=r"another architecture .* \(num_layers 2 -> 3, dim 32 -> 64\)"):
        train(wider)

    # through the command line: one line saying what is wrong, exit code 2, no traceback
    config_path = tmp_path / "run.yaml"
    config_path.write_text(yaml.safe_dump(missing.to_dict()))
    env = os.environ | SUBPROCESS_ENV | {"PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "xlmforge.training.loop", "--config", str(config_path)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "train.init_from: checkpoint not found" in done.stderr
    assert "Traceback" not in done.stderr
