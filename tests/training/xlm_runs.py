"""Tiny run configs for the training tests (imported by name: keep this module name unique)."""

from __future__ import annotations

from pathlib import Path

from xlmforge.training.config import DataConfig, ModelConfig, ObjectivesConfig, OptimConfig, RunConfig, TrainConfig

# Subprocesses run single-threaded like the tests themselves (see conftest.py).
SUBPROCESS_ENV = {"OMP_NUM_THREADS": "1"}


def tiny_run(manifest: Path, out_dir: Path, **sections: dict) -> RunConfig:
    """A 2-layer run on the tiny corpus; keyword sections override fields (e.g. train={"max_steps": 3})."""
    data = {"manifest": str(manifest), "seq_len": 32, "max_sentence_len": 14, "tokens_per_batch": 128,
            "shuffle_shards": 2} | sections.get("data", {})
    objectives = {"mlm_steps": ("en", "fr", "de", "en-fr", "en-de"), "clm_steps": ("en",)} | sections.get(
        "objectives", {})
    optim = {"lr": 1e-3, "warmup_steps": 2} | sections.get("optim", {})
    train = {"out_dir": str(out_dir), "max_steps": 4, "log_every": 1, "checkpoint_every": 2,
             "num_valid_batches": 2, "tensorboard": False, "device": "cpu"} | sections.get("train", {})
    model = {"preset": "tiny", "dim": 32, "max_positions": 64} | sections.get("model", {})
    return RunConfig(model=ModelConfig(**model), data=DataConfig(**data), objectives=ObjectivesConfig(**objectives),
                     optim=OptimConfig(**optim), train=TrainConfig(**train))
