"""Shared fixtures: the real multilingual sample data in ../shared/data, skipped with a reason when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's sample data directory (NTREX-128, Tatoeba); tests that need it skip without it."""
    if not (DATA_DIR / "ntrex").is_dir():
        pytest.skip(f"real sample data not found at {os.path.normpath(DATA_DIR)} (it ships with CI, not with the repo)")
    return DATA_DIR.resolve()
