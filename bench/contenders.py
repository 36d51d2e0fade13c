"""The contenders of the corpus benchmarks, each run as its own process tree and measured the same way:

* xlmforge: `xlmforge build-corpus` (read, normalize, identical dedup, fastText language ID with the
  second opinion, filters, exact + near dedup, write) on the multi-processing direct runner;
* datatrove (bench/datatrove_peer.py), two pipelines: the same stages (reader -> fastText language filter
  -> Gopher repetition filter -> exact dedup -> MinHash near dedup -> writer), and language ID + exact
  dedup alone;
* kernel: fastText prediction + xxhash of every line and nothing else, in as many processes.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import xxhash

from xlmforge.pipelines.corpus.language_id import LanguageIdentifier

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Measured:
    seconds: float  # wall time
    peak_rss_mb: float  # the largest sum over the whole process tree
    startup_seconds: float = 0.0  # the part of `seconds` that does not depend on the input


def best(runs: list[Measured]) -> Measured:
    """The fastest of repeated runs (the least disturbed by the shared machine), with the highest peak RSS."""
    fastest = min(runs, key=lambda m: m.seconds)
    return Measured(fastest.seconds, max(m.peak_rss_mb for m in runs), fastest.startup_seconds)


def run_measured(command: list[str]) -> tuple[float, float]:
    """Run a command; (wall seconds, peak RSS in MB of its whole process tree)."""
    started = time.monotonic()
    process = psutil.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.1):
            try:
                tree = [process] + process.children(recursive=True)
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{stderr.decode()[-3000:]}")
    return time.monotonic() - started, peak / 1e6


def xlmforge_command(text_dir: Path, out: Path, runner_args: list[str]) -> list[str]:
    """`xlmforge build-corpus` of every text file in `text_dir` (language `detect`) into a fresh `out`."""
    config = out.parent / f"{out.name}.yaml"
    sources = [{"name": "bench", "path": str(text_dir / "*.txt"), "language": "detect"}]
    config.write_text(json.dumps({"name": "bench", "sources": sources}))
    shutil.rmtree(out, ignore_errors=True)
    return [sys.executable, "-m", "xlmforge.cli.main", "build-corpus", str(config), str(out), *runner_args]


def xlmforge(text_dir: Path, out: Path, workers: int) -> Measured:
    """On the multi-processing direct runner with `workers` worker processes."""
    runner = ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    return Measured(*run_measured(xlmforge_command(text_dir, out, runner)))


def ledger_counts(out: Path) -> dict[str, dict[str, int]]:
    """stage -> outcome -> count over all languages, from a build's ledger.json."""
    counts: dict[str, dict[str, int]] = {}
    for row in json.loads((out / "ledger.json").read_text())["rows"]:
        stage = counts.setdefault(row["stage"], {})
        for outcome, n in row.items():
            if isinstance(n, int):
                stage[outcome] = stage.get(outcome, 0) + n
            elif isinstance(n, dict):  # dropped: {reason: count}
                for reason, m in n.items():
                    stage[f"dropped:{reason}"] = stage.get(f"dropped:{reason}", 0) + m
    return counts


def datatrove(jsonl_dir: Path, work: Path, workers: int, pipeline: str) -> Measured:
    """bench/datatrove_peer.py's `pipeline` ("same-stages" or "lid-exact")."""
    shutil.rmtree(work, ignore_errors=True)
    return Measured(*run_measured([sys.executable, "bench/datatrove_peer.py", str(jsonl_dir), str(work),
                                   str(workers), pipeline]))  # fmt: skip


def datatrove_counts(work: Path) -> dict[str, dict[str, int]]:
    """step -> {total, forwarded, dropped} of a datatrove_peer run's filters and dedups, from its stats."""
    counts = {}
    for stats in sorted(work.glob("logs/*/stats.json")):
        for step in json.loads(stats.read_text()):
            numbers = {k: step["stats"].get(k) for k in ("total", "forwarded", "dropped")}
            if isinstance(numbers["forwarded"], int):
                counts[step["name"]] = {k: n for k, n in numbers.items() if isinstance(n, int)}
    return counts


def _kernel_file(path: Path) -> int:
    identifier = _kernel_file.identifier
    for line in path.read_text(encoding="utf-8").splitlines():
        identifier.predict(line)
        xxhash.xxh3_64_intdigest(line.encode())
    return 0


def _kernel_worker_init(ready) -> None:
    _kernel_file.identifier = LanguageIdentifier()
    _kernel_ready.barrier = ready


def _kernel_ready(_: int) -> None:
    _kernel_ready.barrier.wait()  # a worker blocked here leaves the next warm-up task to another one


def kernel(text_dir: Path, workers: int) -> Measured:
    """fastText prediction + hashing of every line in `workers` processes; start-up is the pool with the
    model loaded in every worker."""
    files = sorted(text_dir.glob("*.txt"))
    context = multiprocessing.get_context("fork")
    started = time.monotonic()
    with context.Pool(workers, initializer=_kernel_worker_init, initargs=(context.Barrier(workers),)) as pool:
        pool.map(_kernel_ready, range(workers), chunksize=1)  # returns once every worker has loaded the model
        startup = time.monotonic() - started
        pool.map(_kernel_file, files, chunksize=1)
    return Measured(time.monotonic() - started, 0.0, startup)
