"""Fixtures: one tiny corpus per session (copied when a test damages it), and single-threaded torch."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.training.xlm_corpus import write_tiny_corpus


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models on a shared 2-core machine: a second OpenMP thread costs far more in spin-waiting than
    it gains (a 32-wide linear takes ~4 ms with 2 threads, ~0.05 ms with 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the tiny corpus's manifest; read-only."""
    return write_tiny_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def corpus_copy(corpus: Path, tmp_path: Path) -> Path:
    """A private copy of the corpus that a test may damage; returns its manifest path."""
    target = tmp_path / "corpus"
    shutil.copytree(corpus.parent, target)
    return target / corpus.name
