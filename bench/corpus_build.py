"""Corpus build throughput on unique text and on a stated duplicate rate, against the fastText + hashing
kernel and datatrove, with xlmforge's start-up and its time per stage reported on their own.

Inputs (each stated in the output with its line count, size and duplicate rate):
  unique      every distinct line of ../shared/data (NTREX, both sides of Tatoeba), normalized, shuffled
  dup         the same lines plus exact copies of 30 % and near copies (one-word edits) of 10 % of them
  paragraphs  the same lines, each language's run together 20 at a time into one long line (~1.2 kB,
              the shape of crawled paragraphs), shuffled: per-line costs weigh less, per-byte more
Contenders (bench/contenders.py), same process count, interleaved rounds, best time of each:
  xlmforge build-corpus, the kernel (lid.176 + xxhash of every line), and datatrove twice
  (bench/datatrove_peer.py): with the same stages (reader -> lid.176 filter -> Gopher repetition filter
  -> exact dedup -> MinHash near dedup -> writer), and with language ID + exact dedup alone.
Start-up: xlmforge's time on a 100-line input (Beam pipeline construction, worker processes, model
loading), and the kernel's pool start with the model loaded; "excluding start-up" subtracts it.
Per stage: one more xlmforge run of the unique and of the paragraphs input in a single process under
cProfile, its time bucketed by stage module.
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

from bench.contenders import (  # noqa: E402
    Measured,
    best,
    datatrove,
    datatrove_counts,
    kernel,
    ledger_counts,
    xlmforge,
    xlmforge_command,
)
from bench.corpus_input import describe, paragraphs, with_duplicates, write_input, write_startup_input  # noqa: E402
from bench.data_quality import DATA_DIR, distinct_lines_by_language  # noqa: E402

WORK = ROOT / "bench" / "work" / "corpus_build"
RESULT = ROOT / "bench" / "results" / "corpus_build.json"
PLANTED = {"unique": (0.0, 0.0), "dup": (0.3, 0.1)}  # name -> (exact, near) copies as a share of the lines
PARAGRAPH_LINES = 20
INPUTS = (*PLANTED, "paragraphs")
PROFILED = ("unique", "paragraphs")
DATATROVE = {"datatrove": "same-stages", "datatrove_lid_exact": "lid-exact"}  # contender -> datatrove_peer pipeline
CONTENDERS = ("xlmforge", "kernel", *DATATROVE)


def write_inputs(data_dir: Path, max_lines: int | None) -> dict[str, dict]:
    by_language = distinct_lines_by_language(data_dir)
    distinct = sorted(line for lines in by_language.values() for line in lines)
    lines = with_duplicates(distinct, 0, 0)[:max_lines]  # shuffled: files mix languages
    texts = {name: with_duplicates(lines, exact, near, seed=0) for name, (exact, near) in PLANTED.items()}
    max_paragraphs = max_lines // PARAGRAPH_LINES if max_lines else None
    texts["paragraphs"] = with_duplicates(paragraphs(by_language, PARAGRAPH_LINES), 0, 0)[:max_paragraphs]
    inputs = {}
    for name, planted in texts.items():
        text_dir, jsonl_dir = write_input(planted, WORK / name)
        exact, near = PLANTED.get(name, (0.0, 0.0))
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
    from xlmforge.pipelines.jobs import corpus  # noqa: F401  (imported before profiling: neither profile counts it)

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
                        "kernel": kernel(inputs[name]["text"], args.workers)}
            for contender, pipeline in DATATROVE.items():
                work = WORK / f"{name}-{contender}"
                measured[contender] = datatrove(inputs[name]["jsonl"], work, args.workers, pipeline)
            for contender, m in measured.items():
                runs.setdefault(f"{name}/{contender}", []).append(m)
    fastest = {key: best(measured) for key, measured in runs.items()}
    startup = fastest["startup"].seconds

    result = {"workers": args.workers, "rounds": args.rounds, "xlmforge_startup_seconds": round(startup, 2),
              "inputs": {}}  # fmt: skip
    for name in INPUTS:
        stats = inputs[name]["stats"]
        ours, core, peer, lighter = (fastest[f"{name}/{c}"] for c in CONTENDERS)
        counts = ledger_counts(WORK / f"{name}-out")
        kernel_work = core.seconds - core.startup_seconds
        seconds_per_line = kernel_work * args.workers / stats["lines"]  # CPU seconds of LID + hash per line
        result["inputs"][name] = {
            "planted_copies": inputs[name]["planted"], **stats,
            "seconds": {c: round(fastest[f"{name}/{c}"].seconds, 2) for c in CONTENDERS},
            "startup_seconds": {"xlmforge": round(startup, 2), "kernel": round(core.startup_seconds, 2)},
            "mb_per_s": {c: round(stats["megabytes"] / fastest[f"{name}/{c}"].seconds, 2) for c in CONTENDERS},
            "peak_rss_mb": {c: round(fastest[f"{name}/{c}"].peak_rss_mb) for c in CONTENDERS if c != "kernel"},
            "of_kernel": round(core.seconds / ours.seconds, 3),
            "of_kernel_excluding_startup": round(kernel_work / (ours.seconds - startup), 3),
            "times_datatrove": round(peer.seconds / ours.seconds, 2),
            "times_datatrove_lid_exact": round(lighter.seconds / ours.seconds, 2),
            "ledger": {stage: counts[stage] for stage in counts},
            "datatrove_counts": {c: datatrove_counts(WORK / f"{name}-{c}") for c in DATATROVE},
            "stage_order": stage_order_cost(counts, seconds_per_line),
            "all_seconds": {c: [round(m.seconds, 2) for m in runs[f"{name}/{c}"]] for c in CONTENDERS},
        }  # fmt: skip
    if not args.no_profile:
        result["profiles_one_worker"] = {
            name: {bucket: round(seconds, 2) for bucket, seconds in stage_profile(inputs[name]["text"]).items()}
            for name in PROFILED
        }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result)
    print(f"wrote {RESULT.relative_to(ROOT)}")


def print_report(result: dict) -> None:
    print(f"\n{result['workers']} worker processes each, best of {result['rounds']} interleaved rounds; "
          f"xlmforge start-up (100-line input) {result['xlmforge_startup_seconds']:.1f} s")
    for name, r in result["inputs"].items():
        print(f"\ninput {name!r}: {r['lines']:,} lines, {r['megabytes']} MB "
              f"({1e6 * r['megabytes'] / r['lines']:,.0f} bytes per line), planted copies {r['planted_copies']}, "
              f"duplicate comparison keys {r['key_duplicate_rate']:.1%}")
        print(f"{'':20} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12}")
        for contender in CONTENDERS:
            rss = r["peak_rss_mb"].get(contender, "")
            print(f"{contender:20} {r['seconds'][contender]:8.1f} {r['mb_per_s'][contender]:7.2f} {rss:>12}")
        order = r["stage_order"]
        print(f"xlmforge / kernel {r['of_kernel']:.2f} (excluding start-up {r['of_kernel_excluding_startup']:.2f}); "
              f"xlmforge / datatrove {r['times_datatrove']:.2f}x (LID + exact dedup only: "
              f"{r['times_datatrove_lid_exact']:.2f}x)")
        print(f"stage order: language ID identified {order['identified']:,} segments, "
              f"{order['identified_then_dropped_as_duplicates']:,} of them dropped as duplicates afterwards "
              f"(~{order['extra_cpu_seconds']} CPU s); identical_dedup spared it "
              f"{order['not_identified_thanks_to_identical_dedup']:,}")
    for name, profile in result.get("profiles_one_worker", {}).items():
        total = sum(profile.values())
        print(f"\nwhere the time goes ({name} input, one process, cProfile, {total:.0f} s):")
        for bucket, seconds in profile.items():
            print(f"  {bucket:52} {seconds:7.1f} s {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
