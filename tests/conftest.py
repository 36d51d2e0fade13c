"""Shared fixtures: the real multilingual sample data in ../shared/data (skipped with a reason when
absent), one temporary Prefect server per session, small real corpora, and an S3 server on loopback.

Prefect's result storage (where cached task results live) goes to a directory of this session, set
before Prefect is imported, so tests never read or write ~/.prefect.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a real S3 API over HTTP), and the environment that points boto3,
    Beam and s3fs at it: the documented way, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL."""
    pytest.importorskip("moto.server", reason="moto[server] is in the dev extra")
    s3fs = pytest.importorskip("s3fs", reason="s3fs is in the aws extra")
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")  # noqa: SIM115 - closed below, after the server
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "moto.log").read_text()
            time.sleep(0.2)
    s3fs.S3FileSystem.clear_instance_cache()  # fsspec keeps one per process, bound to the endpoint it first saw
    try:
        yield endpoint
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.terminate()
        server.wait(timeout=30)
        log.close()
