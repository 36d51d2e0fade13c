"""Corpus build throughput on unique text and on a stated duplicate rate, against the fastText + hashing
kernel and datatrove, with xlmforge's start-up and its time per stage reported on their own.

Inputs (each stated in the output with its line count, size and duplicate rate):
  unique  every distinct line of ../shared/data (NTREX, both sides of Tatoeba), normalized, shuffled
  dup     the same lines plus exact copies of 30 % and near copies (one-word edits) of 10 % of them
Contenders (bench/contenders.py), same process count, interleaved rounds, best time of each:
  xlmforge build-corpus, the kernel (lid.176 + xxhash of every line), datatrove (reader -> lid.176
  filter -> exact dedup -> writer).
Start-up: xlmforge's time on a 100-line input (Beam pipeline construction, worker processes, model
loading), and the kernel's pool start with the model loaded; "excluding start-up" subtracts it.
Per stage: one more xlmforge run in a single process under cProfile, its time bucketed by stage module.
Stage order: the dup input's ledger says how many segments language ID identified that exact or near
dedup dropped afterwards (dedup runs after the gates so that a group keeps a copy that passes them),
priced at the kernel's time per line.

Writes bench/results/corpus_build.json.
Usage: python bench/corpus_build.py [--workers 2] [--rounds 2] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.contenders import Measured, best, datatrove, kernel, ledger_counts, xlmforge, xlmforge_command  # noqa: E402
from bench.corpus_input import describe, with_duplicates, write_input, write_startup_input  # noqa: E402
from bench.data_quality import DATA_DIR, distinct_lines  # noqa: E402

WORK = ROOT / "bench" / "work" / "corpus_build"
RESULT = ROOT / "bench" / "results" / "corpus_build.json"
INPUTS = {"unique": (0.0, 0.0), "dup": (0.3, 0.1)}  # name -> (exact, near) copies as a share of the lines


def write_inputs(data_dir: Path, max_lines: int | None) -> dict[str, dict]:
    lines = with_duplicates(distinct_lines(data_dir), 0, 0)[:max_lines]  # shuffled: files mix languages
    inputs = {}
    for name, (exact, near) in INPUTS.items():
        planted = with_duplicates(lines, exact, near, seed=0)
        text_dir, jsonl_dir = write_input(planted, WORK / name)
        inputs[name] = {"text": text_dir, "jsonl": jsonl_dir, "planted": {"exact": exact, "near": near},
                        "stats": describe(planted).to_dict()}  # fmt: skip
    inputs["startup"] = {"text": write_startup_input(lines, WORK / "startup")}
    return inputs


PLUMBING = "xlmforge plumbing (parts, ledger, spill, storage)"
# Module (under xlmforge/pipelines/) -> stage, for the profile.
STAGE_MODULES = {
    "corpus/read.py": "read", "corpus/inputs.py": "read", "corpus/lines.py": "read",
    "corpus/normalize.py": "normalize", "corpus/homoglyphs.py": "normalize",
    "corpus/identical_dedup.py": "identical_dedup", "corpus/language_id.py": "language_id",
    "corpus/confusable.py": "language_id", "corpus/filters.py": "filters", "corpus/junk.py": "filters",
    "corpus/exact_dedup.py": "exact_dedup", "corpus/near_dedup.py": "near_dedup", "corpus/minhash.py": "near_dedup",
    "corpus/write.py": "write",
}  # fmt: skip


def _bucket(filename: str) -> str | None:
    if "/xlmforge/pipelines/" in filename:
        module = filename.split("/xlmforge/pipelines/")[1]
        return STAGE_MODULES.get(module, PLUMBING)
    if "/xlmforge/" in filename:
        return PLUMBING
    if "fasttext" in filename:
        return "language_id"
    if "apache_beam" in filename:
        return "Beam (runner, coders, shuffles)"
    if "pyarrow" in filename:
        return "Arrow"
    if filename == "~":
        return None  # a builtin: counted where it is called from
    return "other Python"


def stage_profile(text_dir: Path) -> dict[str, float]:
    """Seconds per stage of one in-process, single-worker build under cProfile (tottime, each builtin
    charged to the module that called it most)."""
    out = WORK / "profile-out"
    command = xlmforge_command(text_dir, out, [])  # the in-memory direct runner: every stage in this process
    from xlmforge.cli.main import app

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        app(args=command[3:], standalone_mode=False)  # the arguments after `python -m xlmforge.cli.main`
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    seconds: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, callers) in stats.items():
        bucket = _bucket(filename)
        if bucket is None:
            caller = max(callers.items(), key=lambda item: item[1][2], default=None)
            bucket = (_bucket(caller[0][0]) if caller else None) or "other Python"
        seconds[bucket] = seconds.get(bucket, 0.0) + tottime
    return dict(sorted(seconds.items(), key=lambda item: -item[1]))


def stage_order_cost(counts: dict[str, dict[str, int]], seconds_per_line: float) -> dict:
    """Language ID spent on segments that dedup dropped afterwards, and what identical_dedup saved it."""
    identified = counts.get("language_id", {}).get("in", 0)
    later_dropped = sum(n for stage in ("exact_dedup", "near_dedup") for outcome, n in counts.get(stage, {}).items()
                        if outcome.startswith("dropped:"))  # fmt: skip
    saved = sum(n for outcome, n in counts.get("identical_dedup", {}).items() if outcome.startswith("dropped:"))
    return {"identified": identified, "identified_then_dropped_as_duplicates": later_dropped,
            "not_identified_thanks_to_identical_dedup": saved,
            "extra_cpu_seconds": round(later_dropped * seconds_per_line, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best time of each counts")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--no-profile", action="store_true", help="skip the per-stage profile")
    parser.add_argument("--max-lines", type=int, help="a sample of the distinct lines (a quick check; not a benchmark)")
    args = parser.parse_args()
    if not (args.data_dir / "ntrex").is_dir():
        sys.exit(f"benchmark data not found at {args.data_dir}")
    inputs = write_inputs(args.data_dir, args.max_lines)

    runs: dict[str, list[Measured]] = {}
    for _ in range(args.rounds):  # interleaved, so that every contender sees the same load
        runs.setdefault("startup", []).append(xlmforge(inputs["startup"]["text"], WORK / "startup-out", args.workers))
        for name in INPUTS:
            measured = {"xlmforge": xlmforge(inputs[name]["text"], WORK / f"{name}-out", args.workers),
                        "kernel": kernel(inputs[name]["text"], args.workers),
                        "datatrove": datatrove(inputs[name]["jsonl"], WORK / f"{name}-datatrove", args.workers)}
            for contender, m in measured.items():
                runs.setdefault(f"{name}/{contender}", []).append(m)
    fastest = {key: best(measured) for key, measured in runs.items()}
    startup = fastest["startup"].seconds

    result = {"workers": args.workers, "rounds": args.rounds, "xlmforge_startup_seconds": round(startup, 2),
              "inputs": {}}  # fmt: skip
    for name in INPUTS:
        stats = inputs[name]["stats"]
        ours, core, peer = (fastest[f"{name}/{c}"] for c in ("xlmforge", "kernel", "datatrove"))
        counts = ledger_counts(WORK / f"{name}-out")
        kernel_work = core.seconds - core.startup_seconds
        seconds_per_line = kernel_work * args.workers / stats["lines"]  # CPU seconds of LID + hash per line
        result["inputs"][name] = {
            "planted_copies": inputs[name]["planted"], **stats,
            "seconds": {"xlmforge": round(ours.seconds, 2), "kernel": round(core.seconds, 2),
                        "datatrove": round(peer.seconds, 2)},
            "startup_seconds": {"xlmforge": round(startup, 2), "kernel": round(core.startup_seconds, 2)},
            "mb_per_s": {"xlmforge": round(stats["megabytes"] / ours.seconds, 2),
                         "kernel": round(stats["megabytes"] / core.seconds, 2),
                         "datatrove": round(stats["megabytes"] / peer.seconds, 2)},
            "peak_rss_mb": {"xlmforge": round(ours.peak_rss_mb), "datatrove": round(peer.peak_rss_mb)},
            "of_kernel": round(core.seconds / ours.seconds, 3),
            "of_kernel_excluding_startup": round(kernel_work / (ours.seconds - startup), 3),
            "times_datatrove": round(peer.seconds / ours.seconds, 2),
            "ledger": {stage: counts[stage] for stage in counts},
            "stage_order": stage_order_cost(counts, seconds_per_line),
            "all_seconds": {c: [round(m.seconds, 2) for m in runs[f"{name}/{c}"]]
                            for c in ("xlmforge", "kernel", "datatrove")},
        }  # fmt: skip
    if not args.no_profile:
        profile = stage_profile(inputs["unique"]["text"])
        result["profile_unique_one_worker"] = {bucket: round(seconds, 2) for bucket, seconds in profile.items()}
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result)
    print(f"wrote {RESULT.relative_to(ROOT)}")


def print_report(result: dict) -> None:
    print(f"\n{result['workers']} worker processes each, best of {result['rounds']} interleaved rounds; "
          f"xlmforge start-up (100-line input) {result['xlmforge_startup_seconds']:.1f} s")
    for name, r in result["inputs"].items():
        print(f"\ninput {name!r}: {r['lines']:,} lines, {r['megabytes']} MB, planted copies {r['planted_copies']}, "
              f"duplicate comparison keys {r['key_duplicate_rate']:.1%}")
        print(f"{'':12} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12}")
        for contender in ("xlmforge", "kernel", "datatrove"):
            rss = r["peak_rss_mb"].get(contender, "")
            print(f"{contender:12} {r['seconds'][contender]:8.1f} {r['mb_per_s'][contender]:7.2f} {rss:>12}")
        order = r["stage_order"]
        print(f"xlmforge / kernel {r['of_kernel']:.2f} (excluding start-up {r['of_kernel_excluding_startup']:.2f}); "
              f"xlmforge / datatrove {r['times_datatrove']:.2f}x")
        print(f"stage order: language ID identified {order['identified']:,} segments, "
              f"{order['identified_then_dropped_as_duplicates']:,} of them dropped as duplicates afterwards "
              f"(~{order['extra_cpu_seconds']} CPU s); identical_dedup spared it "
              f"{order['not_identified_thanks_to_identical_dedup']:,}")
    if "profile_unique_one_worker" in result:
        profile = result["profile_unique_one_worker"]
        total = sum(profile.values())
        print(f"\nwhere the time goes (unique input, one process, cProfile, {total:.0f} s):")
        for bucket, seconds in profile.items():
            print(f"  {bucket:52} {seconds:7.1f} s {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
