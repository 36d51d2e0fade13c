"""How the corpus build scales: 1x, 4x and 10x input at one stated duplicate rate, and 1 against 2 workers.

The inputs are 10 %, 40 % and 100 % of the distinct lines of ../shared/data (shuffled), each with
exact copies of 30 % and near copies of 10 % of its lines planted (bench/corpus_input.py), so every
size has the same duplicate rate: more input, not more duplicates. Each size is built with 2 workers,
and the largest with 1 worker too, in interleaved rounds (the best time counts). Start-up (a 100-line
input) is measured in the same rounds and reported beside the times.

Targets: time grows at most 1.1x linearly (t(10x) - start-up <= 1.1 x 10 x (t(1x) - start-up)),
peak RSS stays flat, 1 -> 2 workers is >= 1.7x faster.
Writes bench/results/corpus_scaling.json and docs/corpus-scaling.png.
Usage: python bench/corpus_scaling.py [--rounds 2] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.contenders import Measured, best, xlmforge  # noqa: E402
from bench.corpus_input import describe, with_duplicates, write_input, write_startup_input  # noqa: E402
from bench.data_quality import DATA_DIR, distinct_lines  # noqa: E402
from bench.scaling_plot import plot_scaling  # noqa: E402

WORK = ROOT / "bench" / "work" / "corpus_scaling"
RESULT = ROOT / "bench" / "results" / "corpus_scaling.json"
PLOT = ROOT / "docs" / "corpus-scaling.png"
SIZES = (1, 4, 10)  # tenths of the distinct lines
EXACT, NEAR = 0.3, 0.1


def plot(result: dict) -> None:
    sizes, startup = result["sizes"], result["startup_seconds"]
    plot_scaling(PLOT, [s["megabytes"] for s in sizes],
                 {"xlmforge, 2 workers (excluding start-up)": [s["seconds"] - startup for s in sizes]},
                 [s["peak_rss_mb"] for s in sizes],
                 ("Build time against input size", "peak RSS of the process tree (MB)",
                  f"{EXACT:.0%} exact + {NEAR:.0%} near copies planted at every size"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    if not (args.data_dir / "ntrex").is_dir():
        sys.exit(f"benchmark data not found at {args.data_dir}")
    lines = with_duplicates(distinct_lines(args.data_dir), 0, 0)
    inputs = {}
    for tenths in SIZES:
        planted = with_duplicates(lines[: len(lines) * tenths // 10], EXACT, NEAR, seed=tenths)
        inputs[tenths] = (write_input(planted, WORK / f"{tenths}x")[0], describe(planted).to_dict())
    startup_dir = write_startup_input(lines, WORK / "startup")

    runs: dict[str, list[Measured]] = {}
    for _ in range(args.rounds):
        runs.setdefault("startup", []).append(xlmforge(startup_dir, WORK / "out", 2))
        for tenths, (text_dir, _) in inputs.items():
            runs.setdefault(f"{tenths}x", []).append(xlmforge(text_dir, WORK / "out", 2))
        runs.setdefault("10x-1worker", []).append(xlmforge(inputs[10][0], WORK / "out", 1))
    fastest = {key: best(measured) for key, measured in runs.items()}
    startup = fastest["startup"].seconds

    sizes = [{"scale": tenths, **stats, "seconds": round(fastest[f"{tenths}x"].seconds, 2),
              "peak_rss_mb": round(fastest[f"{tenths}x"].peak_rss_mb),
              "all_seconds": [round(m.seconds, 2) for m in runs[f"{tenths}x"]]}
             for tenths, (_, stats) in inputs.items()]  # fmt: skip
    first, last = sizes[0], sizes[-1]
    growth = (last["seconds"] - startup) / (first["seconds"] - startup)
    size_ratio = last["megabytes"] / first["megabytes"]
    result = {
        "planted_copies": {"exact": EXACT, "near": NEAR}, "rounds": args.rounds,
        "startup_seconds": round(startup, 2), "sizes": sizes,
        "time_growth_excluding_startup": round(growth, 2), "size_ratio": round(size_ratio, 2),
        "of_linear": round(growth / size_ratio, 3),
        "time_growth_including_startup": round(last["seconds"] / first["seconds"], 2),
        "peak_rss_growth": round(last["peak_rss_mb"] / first["peak_rss_mb"], 2),
        "one_worker_seconds": round(fastest["10x-1worker"].seconds, 2),
        "speedup_1_to_2_workers": round(fastest["10x-1worker"].seconds / last["seconds"], 2),
        "speedup_1_to_2_workers_excluding_startup": round((fastest["10x-1worker"].seconds - startup)
                                                          / (last["seconds"] - startup), 2),
    }  # fmt: skip
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    plot(result)

    print(f"\n{EXACT:.0%} exact + {NEAR:.0%} near copies planted at every size; 2 workers; best of {args.rounds} "
          f"interleaved rounds; start-up {startup:.1f} s")
    print(f"{'scale':>5} {'lines':>9} {'MB':>7} {'dup keys':>8} {'seconds':>8} {'MB/s':>6} {'peak RSS MB':>11}")
    for s in sizes:
        print(f"{s['scale']:>4}x {s['lines']:>9,} {s['megabytes']:>7.1f} {s['key_duplicate_rate']:>8.1%} "
              f"{s['seconds']:>8.1f} {s['megabytes'] / s['seconds']:>6.2f} {s['peak_rss_mb']:>11}")
    print(f"\n{size_ratio:.1f}x the input: {growth:.2f}x the time excluding start-up "
          f"({result['of_linear']:.2f} of linear; "
          f"target <= 1.1), peak RSS x{result['peak_rss_growth']:.2f}; 1 -> 2 workers on 10x: "
          f"{result['speedup_1_to_2_workers']:.2f}x ({result['speedup_1_to_2_workers_excluding_startup']:.2f}x "
          "excluding start-up; target >= 1.7)")
    print(f"wrote {RESULT.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
