"""Shared fixtures: the real multilingual sample data in ../shared/data (skipped with a reason when
absent), one temporary Prefect server per session, and small real corpora.

Prefect's result storage (where cached task results live) goes to a directory of this session, set
before Prefect is imported, so tests never read or write ~/.prefect.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="xlmforge-flow-tests-"))
atexit.register(shutil.rmtree, _SESSION_DIR, ignore_errors=True)
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(_SESSION_DIR / "results")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

import pytest  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's sample data directory (NTREX-128, Tatoeba); tests that need it skip without it."""
    if not (DATA_DIR / "ntrex").is_dir():
        pytest.skip(f"real sample data not found at {os.path.normpath(DATA_DIR)} (it ships with CI, not with the repo)")
    return DATA_DIR.resolve()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server (SQLite) for every test that runs a flow: it takes seconds to start."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def django_texts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Human translations from the Django wheel: deu, fra, spa text files and English-X TSV pairs."""
    from xlmforge.cli.demo_corpus import write_django_bitext, write_django_corpus

    root = tmp_path_factory.mktemp("django")
    write_django_corpus(root, {"deu", "fra", "spa"})
    write_django_bitext(root, {"deu", "spa"})
    return root
