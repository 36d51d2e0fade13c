"""Atomic checkpoints: never a corrupt one loaded, even after SIGKILL mid-write.

`step-00000100.pt` is written under a temporary name, fsynced and renamed (on an object store,
s3:// or gs://, under its final name: an object appears only once its upload completes); then its
sha256 is written the same way to `step-00000100.pt.sha256`. A checkpoint counts as complete only when the
digest file exists and matches, so loading picks the newest complete one. Everything loads with
`torch.load(..., weights_only=True)`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import posixpath
import re
from typing import Any

import fsspec
import torch

from xlmforge.training.config import ModelConfig
from xlmforge.training.model import XLM

log = logging.getLogger(__name__)

_NAME = re.compile(r"^step-(\d{8})\.pt$")


def _is_local(path: str) -> bool:
    return "://" not in path


def _join(directory: str, name: str) -> str:
    return os.path.join(directory, name) if _is_local(directory) else posixpath.join(directory, name)


def checkpoint_path(out_dir: str | os.PathLike, step: int) -> str:
    """Where the checkpoint of `step` lives (a local path or a URL, as `out_dir` is)."""
    return _join(os.fspath(out_dir), f"step-{step:08d}.pt")


def _digest_path(path: str) -> str:
    return f"{path}.sha256"


class _HashingWriter:
    """A write-only stream that hashes what passes through it (the digest without reading the file back)."""

    def __init__(self, stream: Any):
        self.stream, self.sha256 = stream, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()


def _write(path: str, write: Any) -> str:
    """Write `path` atomically; returns the sha256 of what was written.

    Locally through a temporary name, fsynced and renamed. On an object store an object appears only
    once its upload completes, so it is written under its final name."""
    if not _is_local(path):
        with fsspec.open(path, "wb") as f:
            hashing = _HashingWriter(f)
            write(hashing)
        return hashing.sha256.hexdigest()
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        hashing = _HashingWriter(f)
        write(hashing)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return hashing.sha256.hexdigest()


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _names(out_dir: str) -> list[str]:
    """The file names in `out_dir`, read afresh (fsspec caches object-store listings)."""
    fs, root = fsspec.core.url_to_fs(out_dir)
    fs.invalidate_cache(root)
    try:
        return [posixpath.basename(p.rstrip("/")) for p in fs.ls(root, detail=False)]
    except FileNotFoundError:
        return []


def list_checkpoints(out_dir: str | os.PathLike, complete: bool = False) -> list[str]:
    """Checkpoints in `out_dir`, oldest first: every one, or only the complete ones (with their digest file)."""
    out_dir = os.fspath(out_dir)
    names = set(_names(out_dir))
    found = sorted(name for name in names if _NAME.match(name) and (not complete or _digest_path(name) in names))
    return [_join(out_dir, name) for name in found]


def save_checkpoint(tree: dict[str, Any], out_dir: str | os.PathLike, step: int, keep: int) -> str:
    """Write `tree` atomically as the checkpoint of `step`, then keep only the newest `keep` ones."""
    out_dir = os.fspath(out_dir)
    fs, root = fsspec.core.url_to_fs(out_dir)
    fs.makedirs(root, exist_ok=True)
    path = checkpoint_path(out_dir, step)
    digest = _write(path, lambda f: torch.save(tree, f))
    _write(_digest_path(path), lambda f: f.write(digest.encode()))
    if _is_local(out_dir):
        _fsync_dir(out_dir)
    every, complete = list_checkpoints(out_dir), list_checkpoints(out_dir, complete=True)
    stale = [_join(out_dir, n) for n in _names(out_dir) if re.match(r"^step-\d+\.pt(\.sha256)?\.tmp-", n)]
    # older ones, ones a killed writer left without digest, and temporary files a killed writer left
    for old in sorted(set(every) - set(complete[-keep:])) + stale:
        for name in (old, _digest_path(old)):
            if fs.exists(name):
                fs.rm(name)
    log.info("saved checkpoint %s", path)
    return path


def remove_checkpoints(out_dir: str | os.PathLike) -> None:
    """Delete every checkpoint in `out_dir` and its digest (a rerun that starts over)."""
    out_dir = os.fspath(out_dir)
    fs, _ = fsspec.core.url_to_fs(out_dir)
    names = set(_names(out_dir))
    for path in list_checkpoints(out_dir):
        fs.rm(path)
        if posixpath.basename(_digest_path(path)) in names:
            fs.rm(_digest_path(path))


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load one checkpoint (CPU tensors), verifying its digest file when there is one."""
    path = os.fspath(path)
    fs, _ = fsspec.core.url_to_fs(path)
    digest_path = _digest_path(path)
    with fsspec.open(path, "rb") as f:
        data = f.read()
    if fs.exists(digest_path):
        with fsspec.open(digest_path, "rt") as f:
            if f.read().strip() != hashlib.sha256(data).hexdigest():
                raise ValueError(f"checkpoint {path}: sha256 does not match {posixpath.basename(digest_path)}")
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def load_latest_checkpoint(out_dir: str | os.PathLike) -> tuple[str, dict[str, Any]] | None:
    """The newest complete checkpoint in `out_dir` and its contents, or None."""
    complete = set(list_checkpoints(out_dir, complete=True))
    for path in reversed(list_checkpoints(out_dir)):
        if path not in complete:
            log.warning("skipping incomplete checkpoint %s (no digest file)", path)
            continue
        try:
            return path, load_checkpoint(path)
        except (ValueError, RuntimeError, EOFError, OSError) as err:
            log.warning("skipping unreadable checkpoint %s: %s", path, err)
    return None


def load_model(path: str | os.PathLike) -> tuple[XLM, list[str]]:
    """The model of a checkpoint (eval mode, CPU) and its languages in language-id order."""
    tree = load_checkpoint(path)
    model = XLM(model_config(tree))
    model.load_state_dict(tree["model"])
    return model.eval(), list(tree["languages"])


def model_config(tree: dict[str, Any]) -> ModelConfig:
    """The model config stored in a checkpoint."""
    return ModelConfig.from_dict(tree["config"]["model"])
