"""The loop: exact resume, atomic checkpoints under SIGKILL, logging, and run-level bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from tests.training.xlm_runs import SUBPROCESS_ENV, tiny_run
from xlmforge.training.checkpoint import list_checkpoints, load_latest_checkpoint, save_checkpoint
from xlmforge.training.loop import train

REPO = Path(__file__).resolve().parents[2]


def test_resumed_run_continues_with_the_same_losses(corpus: Path, tmp_path: Path) -> None:
    sections = {"optim": {"grad_accum_steps": 2}, "train": {"checkpoint_every": 3, "max_steps": 6}}
    unbroken = train(tiny_run(corpus, tmp_path / "unbroken", **sections))
    sections["train"] = sections["train"] | {"max_steps": 3}
    first = train(tiny_run(corpus, tmp_path / "broken", **sections))
    sections["train"] = sections["train"] | {"max_steps": 6}
    second = train(tiny_run(corpus, tmp_path / "broken", **sections))
    assert (first.first_step, second.first_step, second.step) == (0, 3, 6)
    assert first.losses + second.losses == unbroken.losses  # exactly, not approximately
    assert len(set(unbroken.losses)) == 6
    assert second.valid_perplexity == unbroken.valid_perplexity
    assert set(unbroken.valid_perplexity) == {"mlm/en", "mlm/fr", "mlm/de", "tlm/en-fr", "tlm/en-de", "clm/en"}


def test_checkpoint_tree_loads_with_weights_only(corpus: Path, tmp_path: Path) -> None:
    result = train(tiny_run(corpus, tmp_path, train={"max_steps": 2, "tensorboard": True}))
    tree = torch.load(result.checkpoint, weights_only=True)
    assert tree["step"] == 2 and tree["languages"] == ["de", "en", "fr"]
    assert {"model", "optimizer", "schedule", "ranks", "config", "vocab", "vocab_model"} <= set(tree)
    assert {"loader", "masking_rng", "torch_rng"} <= set(tree["ranks"][0])
    assert tree["config"]["model"]["vocab_size"] == tree["vocab"]["size"]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_latest_complete_checkpoint_wins(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        save_checkpoint({"step": step, "weights": torch.full((4,), float(step))}, tmp_path, step, keep=5)
    newest = tmp_path / "step-00000003.pt"
    newest.write_bytes(newest.read_bytes()[:100])  # torn write of the newest
    (tmp_path / "step-00000004.pt").write_bytes(b"no digest: killed between the two renames")
    (tmp_path / "step-00000005.pt.tmp-123").write_bytes(b"killed while writing")
    path, tree = load_latest_checkpoint(tmp_path)
    assert Path(path).name == "step-00000002.pt" and tree["step"] == 2
    flipped = bytearray((tmp_path / "step-00000002.pt").read_bytes())
    flipped[-30] ^= 0xFF
    (tmp_path / "step-00000002.pt").write_bytes(bytes(flipped))
    assert load_latest_checkpoint(tmp_path)[1]["step"] == 1
    save_checkpoint({"step": 6}, tmp_path, 6, keep=2)
    # the two newest complete checkpoints stay; older ones, the incomplete one and temporary files go
    assert [Path(p).name for p in list_checkpoints(tmp_path)] == ["step-00000003.pt", "step-00000006.pt"]
    assert not list(tmp_path.glob("*.tmp-*"))


def test_checkpoints_in_a_bucket_are_kept_listed_and_resumed(corpus: Path, s3_endpoint: str) -> None:
    import boto3

    boto3.client("s3").create_bucket(Bucket="runs")
    kept = "s3://runs/kept"
    for step in (1, 2, 3):
        save_checkpoint({"step": step}, kept, step, keep=2)
    assert list_checkpoints(kept) == [f"{kept}/step-00000002.pt", f"{kept}/step-00000003.pt"]
    assert load_latest_checkpoint(kept) == (f"{kept}/step-00000003.pt", {"step": 3})
    out = "s3://runs/xlm"
    first = train(tiny_run(corpus, out, train={"max_steps": 2, "tensorboard": True}))
    assert first.checkpoint == f"{out}/step-00000002.pt"
    resumed = train(tiny_run(corpus, out, train={"max_steps": 4}))
    assert resumed.first_step == 2 and resumed.step == 4
    path, tree = load_latest_checkpoint(out)
    assert path == f"{out}/step-00000004.pt" and tree["step"] == 4
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="runs")["Contents"]]
    assert any(k.startswith("xlm/tensorboard/events.out.tfevents.") for k in keys)


def test_sigkill_during_training_then_resume(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = tiny_run(corpus, out, train={"max_steps": 10_000, "checkpoint_every": 1, "keep_checkpoints": 2})
    config_path = tmp_path / "run.yaml"
    config_path.write_text(yaml.safe_dump(cfg.to_dict()))
    env = os.environ | SUBPROCESS_ENV | {"PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "xlmforge.training.loop", "--config", str(config_path)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while len(list(out.glob("step-*.pt.sha256"))) < 2 and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # most likely mid-step or mid-write
    process.wait()
    path, tree = load_latest_checkpoint(out)
    killed_at = tree["step"]
    resumed = train(cfg.replace(train=cfg.train.replace(max_steps=killed_at + 2)))
    assert resumed.first_step == killed_at and resumed.step == killed_at + 2


def test_manifest_vocab_must_match_the_model(corpus: Path, corpus_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"model.vocab_size=999 does not match the manifest's vocabulary spm.model"):
        train(tiny_run(corpus, tmp_path / "a", model={"vocab_size": 999}))
    train(tiny_run(corpus, tmp_path / "b", train={"max_steps": 1}))
    manifest = json.loads(corpus_copy.read_text())
    spm_path = corpus_copy.parent / "spm.model"
    spm_path.write_bytes(spm_path.read_bytes() + b"\n")  # another vocabulary file of the same size
    manifest["vocab"]["sha256"] = hashlib.sha256(spm_path.read_bytes()).hexdigest()
    corpus_copy.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="checkpoint was trained with another vocabulary"):
        train(tiny_run(corpus_copy, tmp_path / "b", train={"max_steps": 2}))
