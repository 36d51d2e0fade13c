"""Atomic checkpoints: never a corrupt one loaded, even after SIGKILL mid-write.

`step-00000100.pt` is written under a temporary name, fsynced and renamed; then its sha256 is
written the same way to `step-00000100.pt.sha256`. A checkpoint counts as complete only when the
digest file exists and matches, so loading picks the newest complete one. Everything loads with
`torch.load(..., weights_only=True)`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

from xlmforge.training.config import ModelConfig
from xlmforge.training.model import XLM

log = logging.getLogger(__name__)

_NAME = re.compile(r"^step-(\d{8})\.pt$")


def checkpoint_path(out_dir: Path, step: int) -> Path:
    """Where the checkpoint of `step` lives."""
    return out_dir / f"step-{step:08d}.pt"


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_checkpoints(out_dir: Path) -> list[Path]:
    """Checkpoint files in `out_dir` (complete or not), oldest first."""
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.iterdir() if _NAME.match(p.name))


def save_checkpoint(tree: dict[str, Any], out_dir: Path, step: int, keep: int) -> Path:
    """Write `tree` atomically as the checkpoint of `step`, then keep only the newest `keep` ones."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(out_dir, step)
    _write_atomic(path, lambda f: torch.save(tree, f))
    digest = _file_sha256(path)
    _write_atomic(_digest_path(path), lambda f: f.write(digest.encode()))
    _fsync_dir(out_dir)
    every = list_checkpoints(out_dir)
    complete = [p for p in every if _digest_path(p).exists()]
    for old in set(every) - set(complete[-keep:]):  # older ones, and ones a killed writer left without digest
        old.unlink()
        _digest_path(old).unlink(missing_ok=True)
    for stale in out_dir.glob("step-*.tmp-*"):  # left by a writer that was killed
        stale.unlink(missing_ok=True)
    log.info("saved checkpoint %s", path)
    return path


def remove_checkpoints(out_dir: Path) -> None:
    """Delete every checkpoint in `out_dir` and its digest (a rerun that starts over)."""
    for path in list_checkpoints(out_dir):
        path.unlink()
        _digest_path(path).unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load one checkpoint (CPU tensors), verifying its digest file when there is one."""
    digest_path = _digest_path(path)
    if digest_path.exists() and digest_path.read_text().strip() != _file_sha256(path):
        raise ValueError(f"checkpoint {path}: sha256 does not match {digest_path.name}")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_latest_checkpoint(out_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest complete checkpoint in `out_dir` and its contents, or None."""
    for path in reversed(list_checkpoints(out_dir)):
        if not _digest_path(path).exists():
            log.warning("skipping incomplete checkpoint %s (no digest file)", path)
            continue
        try:
            return path, load_checkpoint(path)
        except (ValueError, RuntimeError, EOFError, OSError) as err:
            log.warning("skipping unreadable checkpoint %s: %s", path, err)
    return None


def load_model(path: Path) -> tuple[XLM, list[str]]:
    """The model of a checkpoint (eval mode, CPU) and its languages in language-id order."""
    tree = load_checkpoint(Path(path))
    model = XLM(model_config(tree))
    model.load_state_dict(tree["model"])
    return model.eval(), list(tree["languages"])


def model_config(tree: dict[str, Any]) -> ModelConfig:
    """The model config stored in a checkpoint."""
    return ModelConfig.from_dict(tree["config"]["model"])
