"""The pretrain flow continuing from an earlier run (init_from) when a language was added with the kept
vocabulary, and how the end-to-end flow picks the checkpoint to continue from."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from tests.training.xlm_corpus import train_sentencepiece, write_mono_corpus
from tests.training.xlm_runs import SUBPROCESS_ENV, tiny_run
from xlmforge.core import storage
from xlmforge.flows.end_to_end import end_to_end, warm_start_checkpoint
from xlmforge.flows.layout import OutputLayout
from xlmforge.flows.pretrain import pretrain


def test_a_run_of_the_grown_manifest_starts_from_the_previous_runs_checkpoint(prefect_harness, tmp_path,
                                                                              monkeypatch):  # fmt: skip
    for name, value in SUBPROCESS_ENV.items():
        monkeypatch.setenv(name, value)
    vocab = train_sentencepiece(languages=("en", "fr"))
    old = write_mono_corpus(tmp_path / "old", ("en", "fr"), vocab)
    new = write_mono_corpus(tmp_path / "new", ("de", "en", "fr"), vocab)  # what vocab_policy=keep builds
    run = tiny_run(old, tmp_path / "unused", objectives={"mlm_steps": (), "clm_steps": ("en", "fr")},
                   train={"max_steps": 3}).to_dict()  # fmt: skip
    del run["data"]["manifest"], run["train"]["out_dir"]
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(run))
    layout = OutputLayout.of(str(tmp_path / "out"))
    old_sha, new_sha = storage.file_digest(str(old)), storage.file_digest(str(new))

    first = pretrain(str(config), str(old), layout.run(old_sha))
    assert warm_start_checkpoint(layout, None, old_sha) is None  # the first run started from nothing
    assert warm_start_checkpoint(layout, old_sha, new_sha) == first.checkpoint

    # objectives stay en, fr: the run config's steps; the grown manifest's de gets its embedding row anyway
    grown = pretrain(str(config), str(new), layout.run(new_sha), init_from=first.checkpoint)
    tree = torch.load(grown.checkpoint, weights_only=True)
    assert tree["languages"] == ["de", "en", "fr"] and tree["config"]["train"]["init_from"] == first.checkpoint
    assert grown.step == 3 and not grown.reused
    # a rerun: the manifest is the previous one now, the run keeps the start it had, and is reused
    assert warm_start_checkpoint(layout, new_sha, new_sha) == first.checkpoint
    again = pretrain(str(config), str(new), layout.run(new_sha), init_from=first.checkpoint)
    assert again.reused and again.checkpoint == grown.checkpoint

    with pytest.raises(FileNotFoundError, match="train.init_from: checkpoint not found: .*nowhere.pt"):
        pretrain(str(config), str(new), str(tmp_path / "other"), init_from=str(tmp_path / "nowhere.pt"))


def test_continue_training_needs_the_kept_vocabulary(prefect_harness, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="continue_training needs vocab_policy='keep'"):
        end_to_end("corpus.yaml", str(tmp_path), "run.yaml", continue_training=True)
