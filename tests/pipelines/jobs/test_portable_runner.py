"""Corpus and shards through Beam's PortableRunner, the path Flink and Spark jobs take: the pipeline goes
to a job service as a proto with pickled DoFns, and SDK workers in other processes (an EXTERNAL worker
pool, started in a directory of its own) run it. The outputs must be byte-identical to the direct runner's.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.flows.flow_corpora import mono, pairs, write_yaml
from xlmforge.pipelines.jobs.shards import build_shards
from xlmforge.pipelines.shards.config import ShardsConfig

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARDS = ShardsConfig(vocab={"size": 2000}, splits={"valid_size": 30, "test_size": 20},
                      shards={"target_bytes": "256kB"})  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def checkout_env(**env: str) -> dict[str, str]:
    """The environment of a subprocess that imports this checkout's code, whatever its working directory."""
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **env}


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the worker pool exited: {log.read_text()[-3000:]}"
        with socket.socket() as s:
            if s.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the worker pool did not listen on port {port} within {seconds} s")


@pytest.fixture(scope="module")
def worker_pool(tmp_path_factory):
    """An SDK worker pool in its own process group and working directory; yields (port, cwd, log)."""
    cwd, port = tmp_path_factory.mktemp("worker-cwd"), free_port()
    log = tmp_path_factory.mktemp("worker-log") / "pool.log"
    # The pool starts each worker as `python` from PATH.
    env = checkout_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_port(port, process, log)
        yield port, cwd, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the pool and the workers it started
        process.wait(timeout=30)


def build(run_dir: Path, config: str, pipeline_args: list[str], monkeypatch) -> None:
    """Corpus through the command line, then shards, both with output paths relative to `run_dir`."""
    run_dir.mkdir()
    command = [sys.executable, "-m", "xlmforge.cli.main", "build-corpus", config, "corpus", *pipeline_args]
    result = subprocess.run(command, cwd=run_dir, env=checkout_env(), capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    monkeypatch.chdir(run_dir)
    build_shards(["corpus"], "shards", SHARDS, pipeline_args)


def files(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_portable_runner_with_external_workers_writes_what_the_direct_runner_writes(
    worker_pool, django_texts, tmp_path, monkeypatch
):
    port, worker_cwd, log = worker_pool
    config = write_yaml(tmp_path / "corpus.yaml", {"name": "portable", "sources": [
        mono("deu", django_texts), mono("fra", django_texts), pairs("deu", django_texts)]})  # fmt: skip
    # Both builds at the same path: the manifest names its corpus builds by path, so nothing need be left out.
    run_dir = tmp_path / "build"
    build(run_dir, config, [], monkeypatch)
    direct = files(run_dir)
    monkeypatch.chdir(tmp_path)
    run_dir.rename(tmp_path / "direct")

    portable = ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=EXTERNAL",
                f"--environment_config=localhost:{port}"]  # fmt: skip
    build(run_dir, config, portable, monkeypatch)
    assert "Starting worker with command" in log.read_text(), "the pool started no SDK worker"
    assert not any(worker_cwd.iterdir()), "a worker wrote relative to its own working directory"

    assert {Path("corpus/corpus.json"), Path("shards/manifest.json"), Path("shards/vocab/spm.model")} <= set(direct)
    assert {p.parts[1] for p in direct if p.parts[:1] == ("corpus",) and p.suffix == ".arrow"} >= {
        "segments", "bitext"}  # fmt: skip
    assert any(p.suffix == ".tar" for p in direct)
    assert sorted(files(run_dir)) == sorted(direct)
    for path, data in files(run_dir).items():
        assert data == direct[path], f"{path} differs between the direct and the portable runner"
