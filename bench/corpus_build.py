"""Corpus build throughput and peak memory, against datatrove and the fastText + hashing kernel.

All three read the same text (the shared NTREX data replicated with small edits to the target size)
with the same number of worker processes, in the same run:

* xlmforge: `xlmforge build-corpus` (read, normalize, exact + near dedup, fastText language ID,
  filters, write) on the multi-processing direct runner;
* datatrove: reader -> fastText language filter -> exact dedup -> writer (bench/datatrove_peer.py);
* kernel: fastText prediction + xxhash of every line and nothing else, in as many processes.

Peak RSS is the largest sum over the whole process tree. xlmforge is also run on half the input to
show how its memory depends on input size. Writes bench/results/corpus_build.json.

Usage: python bench/corpus_build.py [--target-mb 100] [--workers 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus_input import write_benchmark_input  # noqa: E402
from xlmforge.pipelines.corpus.language_id import LanguageIdentifier  # noqa: E402

DATA = ROOT / ".." / "shared" / "data" / "ntrex"
WORK = ROOT / "bench" / "work" / "corpus_build"
RESULT = ROOT / "bench" / "results" / "corpus_build.json"


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


def xlmforge(text_files: list[Path], out: Path, workers: int) -> tuple[float, float]:
    config = out.parent / f"{out.name}.yaml"
    sources = [{"name": "bench", "path": str(text_files[0].parent / "*.txt"), "language": "detect"}]
    config.write_text(json.dumps({"name": "bench", "sources": sources}))
    shutil.rmtree(out, ignore_errors=True)
    return run_measured(
        [
            sys.executable,
            "-m",
            "xlmforge.cli.main",
            "build-corpus",
            str(config),
            str(out),
            "--direct_running_mode=multi_processing",
            f"--direct_num_workers={workers}",
        ]
    )


def datatrove(jsonl_dir: Path, work: Path, workers: int) -> tuple[float, float]:
    shutil.rmtree(work, ignore_errors=True)
    return run_measured([sys.executable, "bench/datatrove_peer.py", str(jsonl_dir), str(work), str(workers)])


def _kernel_file(path: Path) -> int:
    identifier = _kernel_file.identifier
    for line in path.read_text(encoding="utf-8").splitlines():
        identifier.predict(line)
        xxhash.xxh3_64_intdigest(line.encode())
    return 0


def _kernel_worker_init() -> None:
    _kernel_file.identifier = LanguageIdentifier()


def kernel(text_files: list[Path], workers: int) -> float:
    """Seconds for fastText prediction + hashing of every line, in `workers` processes (model load excluded)."""
    with multiprocessing.get_context("fork").Pool(workers, initializer=_kernel_worker_init) as pool:
        pool.map(_kernel_file, text_files[:workers])  # warm up: load the model in every worker
        started = time.monotonic()
        pool.map(_kernel_file, text_files, chunksize=1)
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target-mb", type=float, default=100.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of all four runs; the best time counts")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"benchmark data not found at {DATA}")

    half_text, _, half_bytes = write_benchmark_input(DATA, WORK / "input-half", args.target_mb / 2)
    text_files, jsonl_files, num_bytes = write_benchmark_input(DATA, WORK / "input", args.target_mb)
    input_mb = num_bytes / 1e6

    # Rounds interleave the contenders so that each sees the same load; the best time of each counts
    # (this machine's speed varies from run to run), and the highest peak memory.
    rounds = [
        (
            xlmforge(text_files, WORK / "xlmforge-out", args.workers),
            xlmforge(half_text, WORK / "xlmforge-half-out", args.workers),
            datatrove(jsonl_files[0].parent, WORK / "datatrove-work", args.workers),
            (kernel(text_files, args.workers), 0.0),
        )
        for _ in range(args.repeat)
    ]
    (ours_s, ours_rss), (half_s, half_rss), (peer_s, peer_rss), (kernel_s, _) = (
        (min(seconds for seconds, _ in runs), max(rss for _, rss in runs)) for runs in zip(*rounds)
    )
    ledger = json.loads((WORK / "xlmforge-out" / "ledger.json").read_text())
    num_segments = sum(r["in"] for r in ledger["rows"] if r["stage"] == "read")

    result = {
        "input_mb": round(input_mb, 1),
        "num_segments": num_segments,
        "workers": args.workers,
        "rounds": args.repeat,
        "xlmforge_mb_s": round(input_mb / ours_s, 3),
        "xlmforge_segments_s": round(num_segments / ours_s),
        "datatrove_mb_s": round(input_mb / peer_s, 3),
        "ratio_vs_datatrove": round(peer_s / ours_s, 2),
        "kernel_mb_s": round(input_mb / kernel_s, 3),
        "ratio_vs_kernel": round(kernel_s / ours_s, 2),
        "peak_rss_mb": round(ours_rss),
        "datatrove_peak_rss_mb": round(peer_rss),
        "half_input_mb": round(half_bytes / 1e6, 1),
        "half_input_peak_rss_mb": round(half_rss),
        "half_input_xlmforge_mb_s": round(half_bytes / 1e6 / half_s, 3),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("xlmforge build-corpus", ours_s, input_mb / ours_s, ours_rss),
        (f"xlmforge, half input ({half_bytes / 1e6:.0f} MB)", half_s, half_bytes / 1e6 / half_s, half_rss),
        ("datatrove reader->LID->exact dedup->writer", peer_s, input_mb / peer_s, peer_rss),
        ("kernel: fastText + xxhash only", kernel_s, input_mb / kernel_s, float("nan")),
    ]
    print(f"\ninput: {input_mb:.1f} MB, {num_segments:,} lines, {args.workers} worker processes each, ", end="")
    print(f"best of {args.repeat} interleaved rounds\n")
    print(f"{'':46} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12}")
    for name, seconds, mb_s, rss in rows:
        print(f"{name:46} {seconds:8.1f} {mb_s:7.2f} {rss:12.0f}")
    ratios = f"xlmforge / datatrove: {result['ratio_vs_datatrove']:.2f}x"
    print(f"\n{ratios}   xlmforge / kernel: {result['ratio_vs_kernel']:.2f}")
    print(f"wrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
