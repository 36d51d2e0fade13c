"""The scheduled deployment for real: a Prefect server, `flows.deploy` serving build-corpus on a cron
schedule, one run triggered through the API and completed; every process stopped, pass or fail."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.flows.flow_corpora import mono, shards_config, write_yaml
from xlmforge.flows.settings import prefect_env

REPO = Path(__file__).resolve().parents[2]
CRON = "0 3 * * *"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout} s; logs:\n" + "\n".join(p.read_text()[-3000:] for p in logs))


def healthy(api: str) -> bool:
    with urllib.request.urlopen(f"{api}/health", timeout=5) as response:
        return response.status == 200


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    """SIGINT (serve pauses its schedule and exits), then SIGTERM, then SIGKILL, to the whole group."""
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_served_deployment_runs_once_when_triggered(django_texts, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = prefect_env(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=api,
                      PREFECT_LOCAL_STORAGE_PATH=str(tmp_path / "results"))  # fmt: skip
    config = write_yaml(tmp_path / "corpus.yaml", {"sources": [mono("deu", django_texts), mono("fra", django_texts)]})
    shards, out = shards_config(tmp_path / "shards.yaml"), tmp_path / "out"
    logs = [tmp_path / "server.log", tmp_path / "serve.log"]
    processes = []
    try:
        prefect = str(Path(sys.executable).parent / "prefect")
        processes.append(start([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, logs[0]))
        wait_for(lambda: healthy(api), 180, "the Prefect server did not answer", logs)
        deploy = [sys.executable, "-m", "xlmforge.flows.deploy", config, str(out), "--shards-config", shards,
                  "--cron", CRON, "--name", "nightly"]  # fmt: skip
        processes.append(start(deploy, env, logs[1]))

        with temporary_settings({PREFECT_API_URL: api}):

            def deployment():
                with get_client(sync_client=True) as client:
                    return client.read_deployment_by_name("build-corpus/nightly")

            wait_for(lambda: deployment().schedules, 120, "the served deployment did not appear", logs)
            assert [s.schedule.cron for s in deployment().schedules] == [CRON]
            flow_run = run_deployment("build-corpus/nightly", timeout=300)
        assert flow_run.state.is_completed(), (flow_run.state, logs[1].read_text()[-5000:])
        assert (out / "shards" / "manifest.json").is_file() and (out / "corpus" / "generations.json").is_file()
    finally:
        for process in reversed(processes):
            stop(process)
    assert all(process.poll() is not None for process in processes)
