"""How the shard build scales: 1x, 4x and 10x input at one stated duplicate rate.

The inputs are 10 %, 40 % and 100 % of every language's distinct lines of ../shared/data
(bench/shard_input.py), each with exact copies of 30 % and near copies of 10 % of its lines planted,
as bench/corpus_scaling.py plants them, so every size has the same duplicate rate and language mix:
more input, not more duplicates. Each is built by xlmforge's build_shards (bench/shard_contenders.py:
child process, in-memory direct runner, one core, peak RSS sampled) in interleaved rounds, the best
time counting. Start-up (the build of 10 lines per language with the vocabulary kept) is measured in the
same rounds. Vocabulary training trains on a sample of at most 100,000 sentences at every size, so it
is left out of the comparison with linear along with the start-up.

Writes bench/results/shard_scaling.json and docs/shard-scaling.png.
Usage: python bench/shard_scaling.py [--rounds 2] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data_quality import DATA_DIR, distinct_lines_by_language  # noqa: E402
from bench.scaling_plot import plot_scaling  # noqa: E402
from bench.shard_contenders import ShardBuild, best_build, config_for, xlmforge  # noqa: E402
from bench.shard_input import describe_corpus, sample_by_language, with_duplicates_by_language, write_corpus  # noqa: E402
from xlmforge.pipelines.shards.layout import ShardsLayout  # noqa: E402

WORK = ROOT / "bench" / "work" / "shard_scaling"
RESULT = ROOT / "bench" / "results" / "shard_scaling.json"
PLOT = ROOT / "docs" / "shard-scaling.png"
SIZES = (1, 4, 10)  # tenths of the distinct lines
EXACT, NEAR = 0.3, 0.1
STARTUP_LINES_PER_LANG = 10


def work_seconds(size: dict, startup: float) -> float:
    """The part of a build that should grow with the input: all but start-up and vocabulary training."""
    return size["seconds"] - startup - size["seconds_by_phase"]["vocab"]


def plot(result: dict) -> None:
    sizes, startup = result["sizes"], result["startup_seconds"]
    plot_scaling(PLOT, [s["megabytes"] for s in sizes],
                 {"whole build excluding start-up and vocabulary training": [work_seconds(s, startup) for s in sizes],
                  "encode + write pass": [s["seconds_by_phase"]["encode_write"] for s in sizes]},
                 [s["peak_rss_mb"] for s in sizes],
                 ("Shard build time against input size", "peak RSS of the build process (MB)",
                  f"{EXACT:.0%} exact + {NEAR:.0%} near copies planted at every size; one process, "
                  "one core"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    if not (args.data_dir / "ntrex").is_dir():
        sys.exit(f"benchmark data not found at {args.data_dir}")
    lines = distinct_lines_by_language(args.data_dir)
    WORK.mkdir(parents=True, exist_ok=True)
    inputs = {}
    for tenths in SIZES:
        planted = with_duplicates_by_language(sample_by_language(lines, tenths / 10), EXACT, NEAR, seed=tenths)
        inputs[tenths] = (write_corpus(planted, WORK / f"{tenths}x"), config_for(planted), describe_corpus(planted))
    startup_lines = {lang: lang_lines[:STARTUP_LINES_PER_LANG] for lang, lang_lines in lines.items()}
    startup_corpus = write_corpus(startup_lines, WORK / "startup")
    model = Path(ShardsLayout(str(WORK / f"{SIZES[0]}x-out")).vocab_model)

    runs: dict[str, list[ShardBuild]] = {}
    for _ in range(args.rounds):
        for tenths, (corpus, config, _) in inputs.items():
            runs.setdefault(f"{tenths}x", []).append(xlmforge(corpus, WORK / f"{tenths}x-out", config))
        runs.setdefault("startup", []).append(
            xlmforge(startup_corpus, WORK / "startup-out", config_for(startup_lines, model))
        )
    fastest = {key: best_build(builds) for key, builds in runs.items()}
    startup = fastest["startup"].measured.seconds

    sizes = []
    for tenths, (_, _, stats) in inputs.items():
        build = fastest[f"{tenths}x"]
        sizes.append({"scale": tenths, **{k: v for k, v in stats.items() if k != "lines_by_lang"},
                      "seconds": round(build.measured.seconds, 2),
                      "seconds_by_phase": {phase: round(s, 2) for phase, s in build.seconds_by_phase.items()},
                      "num_tokens": build.num_tokens, "vocab_sample_sentences": build.num_vocab_sentences,
                      "peak_rss_mb": round(build.measured.peak_rss_mb),
                      "all_seconds": [round(b.measured.seconds, 2) for b in runs[f"{tenths}x"]]})  # fmt: skip
    first, last = sizes[0], sizes[-1]
    size_ratio = last["megabytes"] / first["megabytes"]
    growth = work_seconds(last, startup) / work_seconds(first, startup)
    fixed = fastest["startup"].seconds_by_phase["encode_write"]
    encode_growth = (last["seconds_by_phase"]["encode_write"] - fixed) / (first["seconds_by_phase"]["encode_write"]
                                                                          - fixed)  # fmt: skip
    result = {
        "planted_copies": {"exact": EXACT, "near": NEAR}, "rounds": args.rounds,
        "runner": "FnApiRunner in-memory (one process, one core)",
        "startup_seconds": round(startup, 2), "startup_encode_write_seconds": round(fixed, 2), "sizes": sizes,
        "size_ratio": round(size_ratio, 2),
        "time_growth_excluding_startup_and_vocab": round(growth, 2), "of_linear": round(growth / size_ratio, 3),
        "encode_write_growth_excluding_startup": round(encode_growth, 2),
        "encode_write_of_linear": round(encode_growth / size_ratio, 3),
        "time_growth_including_everything": round(last["seconds"] / first["seconds"], 2),
        "peak_rss_growth": round(last["peak_rss_mb"] / first["peak_rss_mb"], 2),
    }  # fmt: skip
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    plot(result)
    print_report(result)
    print(f"wrote {RESULT.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


def print_report(result: dict) -> None:
    startup = result["startup_seconds"]
    print(f"\n{EXACT:.0%} exact + {NEAR:.0%} near copies planted at every size; {result['runner']}; best of "
          f"{result['rounds']} interleaved rounds; start-up {startup:.1f} s")
    print(f"{'scale':>5} {'lines':>9} {'MB':>6} {'dup keys':>8} {'seconds':>8} {'vocab s':>7} {'enc+write s':>11} "
          f"{'MB/s':>6} {'peak RSS MB':>11}")
    for s in result["sizes"]:
        phases = s["seconds_by_phase"]
        print(f"{s['scale']:>4}x {s['lines']:>9,} {s['megabytes']:>6.1f} {s['key_duplicate_rate']:>8.1%} "
              f"{s['seconds']:>8.1f} {phases['vocab']:>7.1f} {phases['encode_write']:>11.1f} "
              f"{s['megabytes'] / phases['encode_write']:>6.2f} {s['peak_rss_mb']:>11}")
    print(f"\n{result['size_ratio']:.1f}x the input: {result['time_growth_excluding_startup_and_vocab']:.2f}x the time "
          f"excluding start-up and vocabulary training ({result['of_linear']:.2f} of linear); encode + write pass "
          f"{result['encode_write_growth_excluding_startup']:.2f}x ({result['encode_write_of_linear']:.2f} of "
          f"linear); whole build {result['time_growth_including_everything']:.2f}x; peak RSS "
          f"x{result['peak_rss_growth']:.2f}")


if __name__ == "__main__":
    main()
