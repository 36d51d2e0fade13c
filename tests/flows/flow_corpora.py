"""Corpus and shard configs for the flow tests (imported by name: keep this module name unique)."""

from __future__ import annotations

from pathlib import Path

import yaml


def mono(lang: str, path: Path) -> dict:
    return {"name": f"django-{lang}", "path": str(path / f"{lang}.txt"), "language": lang}


def pairs(lang: str, path: Path) -> dict:
    return {"name": f"django-eng-{lang}", "kind": "bitext", "path": str(path / f"eng-{lang}.tsv"),
            "languages": ["eng", lang]}  # fmt: skip


def write_yaml(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def shards_config(path: Path) -> str:
    """Small vocabulary and held-out splits for a few hundred segments per language."""
    return write_yaml(path, {"vocab": {"size": 2000}, "splits": {"valid_size": 30, "test_size": 20},
                             "shards": {"target_bytes": "256kB"}})  # fmt: skip
