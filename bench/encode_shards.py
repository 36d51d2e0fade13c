"""Shard build throughput on unique text: encode + write against SentencePiece encoding alone.

Input: every distinct line of ../shared/data (NTREX, both sides of Tatoeba), each once, under its
language (bench/data_quality.distinct_lines_by_language), written directly as a corpus build directory
(bench/shard_input.py); the output states its lines, MB, languages and duplicate rates.
Contenders (bench/shard_contenders.py), interleaved rounds, the best time of each (contenders.best):
  xlmforge build_shards in a child process on the in-memory direct runner (one core), its peak RSS
  sampled; SentencePiece `encode` alone on the same texts, same batches, same model, one thread.
The ratio compares the build's encode + write pass (split, decontaminate, encode, write Arrow +
WebDataset shards) with SentencePiece alone on the same MB. Vocabulary training is the build's own
phase; start-up is the whole build of a 10-lines-per-language input with the vocabulary kept (nothing
to train), of which its encode + write pass is the part the ratio "excluding start-up" subtracts.

Writes bench/results/encode_shards.json.
Usage: python bench/encode_shards.py [--rounds 2] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.contenders import Measured, best  # noqa: E402
from bench.data_quality import DATA_DIR, distinct_lines_by_language  # noqa: E402
from bench.shard_contenders import (  # noqa: E402
    ShardBuild,
    best_build,
    config_for,
    segment_texts,
    sentencepiece_alone,
    xlmforge,
)
from bench.shard_input import describe_corpus, write_corpus  # noqa: E402
from xlmforge.pipelines.shards.layout import ShardsLayout  # noqa: E402

WORK = ROOT / "bench" / "work" / "encode_shards"
RESULT = ROOT / "bench" / "results" / "encode_shards.json"
STARTUP_LINES_PER_LANG = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best time of each counts")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    if not (args.data_dir / "ntrex").is_dir():
        sys.exit(f"benchmark data not found at {args.data_dir}")
    lines = distinct_lines_by_language(args.data_dir)
    startup_lines = {lang: lang_lines[:STARTUP_LINES_PER_LANG] for lang, lang_lines in lines.items()}
    WORK.mkdir(parents=True, exist_ok=True)
    corpus, startup_corpus = write_corpus(lines, WORK / "unique"), write_corpus(startup_lines, WORK / "startup")
    stats = describe_corpus(lines)
    batches = segment_texts(corpus)
    out = WORK / "unique-out"
    model = Path(ShardsLayout(str(out)).vocab_model)

    builds: list[ShardBuild] = []
    startups: list[ShardBuild] = []
    alone: list[Measured] = []
    for _ in range(args.rounds):  # in turn, so that every contender sees the same load
        builds.append(xlmforge(corpus, out, config_for(lines)))
        alone_run, spm_tokens = sentencepiece_alone(batches, model)
        alone.append(alone_run)
        startups.append(xlmforge(startup_corpus, WORK / "startup-out", config_for(startup_lines, model)))
    build, spm_best, startup = best_build(builds), best(alone), best_build(startups)

    megabytes = stats["megabytes"]
    encode_write = build.seconds_by_phase["encode_write"]
    fixed = startup.seconds_by_phase["encode_write"]
    spm_mb_s = megabytes / spm_best.seconds
    result = {
        "input": {"name": "unique", **stats},
        "config": config_for(lines).model_dump(mode="json"),
        "runner": "FnApiRunner in-memory (one process, one core); SentencePiece 1 thread",
        "rounds": args.rounds,
        "xlmforge": {
            "build_seconds": round(build.measured.seconds, 2),
            "seconds_by_phase": {phase: round(s, 2) for phase, s in build.seconds_by_phase.items()},
            "num_tokens": build.num_tokens,
            "encode_write_mb_s": round(megabytes / encode_write, 2),
            "encode_write_tokens_s": round(build.num_tokens / encode_write),
            "peak_rss_mb": round(build.measured.peak_rss_mb),
            "all_build_seconds": [round(b.measured.seconds, 2) for b in builds],
            "all_encode_write_seconds": [round(b.seconds_by_phase["encode_write"], 2) for b in builds],
        },
        "sentencepiece_alone": {
            "seconds": round(spm_best.seconds, 2),
            "mb_s": round(spm_mb_s, 2),
            "num_tokens": spm_tokens,
            "tokens_s": round(spm_tokens / spm_best.seconds),
            "all_seconds": [round(m.seconds, 2) for m in alone],
        },
        # Same input text for both: the ratio of their MB/s (tokens/s would also count the records the
        # build drops as decontaminated, which it never encodes).
        "ratio_encode_write_vs_sentencepiece": round(megabytes / encode_write / spm_mb_s, 3),
        "ratio_excluding_startup": round(megabytes / (encode_write - fixed) / spm_mb_s, 3),
        "vocab_training_seconds": round(build.seconds_by_phase["vocab"], 2),
        "vocab_sample_sentences": build.num_vocab_sentences,
        "startup": {
            "input_lines": sum(len(v) for v in startup_lines.values()),
            "build_seconds": round(startup.measured.seconds, 2),
            "encode_write_seconds": round(fixed, 2),
            "peak_rss_mb": round(startup.measured.peak_rss_mb),
        },
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result)
    print(f"wrote {RESULT.relative_to(ROOT)}")


def print_report(result: dict) -> None:
    s, ours, alone = result["input"], result["xlmforge"], result["sentencepiece_alone"]
    print(f"\ninput 'unique': {s['lines']:,} lines, {s['megabytes']} MB, {s['num_languages']} languages; exact "
          f"duplicates {s['exact_duplicate_rate']:.1%}, duplicate comparison keys {s['key_duplicate_rate']:.1%}")
    print(f"best of {result['rounds']} interleaved rounds; {result['runner']}")
    print(f"\n{'':44} {'seconds':>8} {'MB/s':>6} {'tokens/s':>10} {'peak RSS MB':>12}")
    print(f"{'xlmforge encode + write pass':44} {ours['seconds_by_phase']['encode_write']:8.2f} "
          f"{ours['encode_write_mb_s']:6.2f} {ours['encode_write_tokens_s']:10,} {ours['peak_rss_mb']:12,}")
    print(f"{'SentencePiece encode alone, same texts':44} {alone['seconds']:8.2f} {alone['mb_s']:6.2f} "
          f"{alone['tokens_s']:10,}")
    print(f"\nencode + write / SentencePiece alone: {result['ratio_encode_write_vs_sentencepiece']:.2f} "
          f"(excluding the pass's start-up: {result['ratio_excluding_startup']:.2f})")
    print(f"vocabulary training: {result['vocab_training_seconds']:.1f} s ({result['config']['vocab']['size']:,} "
          f"pieces from a sample of {result['vocab_sample_sentences']:,} sentences)")
    start = result["startup"]
    print(f"start-up: {start['build_seconds']:.1f} s for the whole build of {start['input_lines']} lines with the "
          f"vocabulary kept, of which the encode + write pass {start['encode_write_seconds']:.2f} s")
    print(f"whole build {ours['build_seconds']:.1f} s; phases (s): {ours['seconds_by_phase']}")


if __name__ == "__main__":
    main()
