"""Shard build throughput and peak memory: encode + write against SentencePiece encoding alone.

The input is a corpus build directory written directly (segments of all 33 NTREX languages, replicated
with small edits to the target size). `build_shards` runs on it in a child process on the in-memory
direct runner (one core), at the target size and at a quarter of it; the parent samples the child's
peak RSS. Its encode + write pass (split, decontaminate, encode, write Arrow + WebDataset shards) is
compared with `SentencePieceProcessor.encode` alone on the same texts, one thread, same batches. The
machine is shared: the full-size build runs twice and SentencePiece three times, and the fastest run
(the least disturbed) counts. Writes bench/results/encode_shards.json.

Usage: python bench/encode_shards.py [--target-mb 40]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa
import sentencepiece as spm

from bench.contenders import run_measured
from bench.corpus_input import perturb
from xlmforge.pipelines.common.parts import BATCH_ROWS, ArrowFileWriter, read_batches
from xlmforge.pipelines.common.rows import segment_id
from xlmforge.pipelines.shards.config import ShardsConfig
from xlmforge.schemas.records import SEGMENT_SCHEMA

DATA = ROOT / ".." / "shared" / "data" / "ntrex"
WORK = ROOT / "bench" / "work" / "encode_shards"
RESULT = ROOT / "bench" / "results" / "encode_shards.json"
CONFIG = ShardsConfig(
    vocab={"size": 16000, "num_sample_sentences": 100_000},  # the same sample at every input size
    splits={"valid_size": 200, "test_size": 200},
    shards={"target_bytes": "8MB"},
)
DOC_LINES = 20


def write_corpus(dest: Path, target_mb: float, seed: int = 0) -> tuple[int, int]:
    """A corpus build directory of about `target_mb` of text; returns (segments, text bytes)."""
    rng = random.Random(seed)
    sources = {
        p.stem: [s for s in p.read_text(encoding="utf-8").splitlines() if s.strip()] for p in sorted(DATA.glob("*.txt"))
    }
    vocabularies = {lang: sorted({w for line in lines for w in line.split()}) for lang, lines in sources.items()}
    shutil.rmtree(dest, ignore_errors=True)
    counts, num_bytes, round_ = dict.fromkeys(sources, 0), 0, 0
    while num_bytes < target_mb * 1e6:
        for lang, lines in sources.items():
            texts = lines if round_ == 0 else [perturb(line, vocabularies[lang], rng) for line in lines]
            rows = [
                {
                    "segment_id": segment_id("bench", f"{lang}-{round_}-{i // DOC_LINES}", i % DOC_LINES),
                    "source": "bench",
                    "doc_id": f"{lang}-{round_}-{i // DOC_LINES}",
                    "position": i % DOC_LINES,
                    "lang": lang,
                    "text": text,
                }
                for i, text in enumerate(texts)
            ]
            path = dest / "segments" / f"lang={lang}" / f"round-{round_:03d}.arrow"
            with ArrowFileWriter(str(path), SEGMENT_SCHEMA) as writer:
                for start in range(0, len(rows), BATCH_ROWS):
                    writer.write(pa.RecordBatch.from_pylist(rows[start : start + BATCH_ROWS], schema=SEGMENT_SCHEMA))
            counts[lang] += len(rows)
            num_bytes += sum(len(t.encode()) for t in texts)
        round_ += 1
    (dest / "corpus.json").write_text(json.dumps({"kind": "xlmforge.corpus", "segments_by_lang": counts}))
    return sum(counts.values()), num_bytes


def child(corpus: str, out: str, result: str) -> None:
    """Run the build (in the child process) and write its timings."""
    from xlmforge.pipelines.jobs.shards import build_shards

    built = build_shards([corpus], out, CONFIG, overwrite=True)
    num_tokens = sum(s.num_tokens for s in built.manifest.shards if s.format == "arrow")
    Path(result).write_text(json.dumps({"seconds_by_phase": built.seconds_by_phase, "num_tokens": num_tokens}))


def sentencepiece_alone(corpus: Path, model: Path, repeats: int) -> tuple[float, int]:
    """Seconds (fastest of `repeats`) and tokens of encoding every segment with SentencePiece alone."""
    processor = spm.SentencePieceProcessor(model_file=str(model))
    batches = [b.column("text").to_pylist() for f in sorted(corpus.rglob("*.arrow")) for b in read_batches(str(f))]
    runs = []
    for _ in range(repeats):
        started = time.monotonic()
        num_tokens = sum(len(ids) for texts in batches for ids in processor.encode(texts, num_threads=1))
        runs.append(time.monotonic() - started)
    return min(runs), num_tokens


def measure(target_mb: float, name: str, repeats: int) -> dict:
    """The fastest of `repeats` builds of a corpus of about `target_mb`, with the highest peak RSS."""
    corpus, out, result = WORK / f"corpus-{name}", WORK / f"shards-{name}", WORK / f"result-{name}.json"
    num_segments, num_bytes = write_corpus(corpus, target_mb)
    command = [sys.executable, __file__, "--child", str(corpus), str(out), str(result)]
    runs = []
    for _ in range(repeats):
        wall, peak_rss = run_measured(command)
        runs.append(
            (json.loads(result.read_text())["seconds_by_phase"]["encode_write"], wall, peak_rss, result.read_text())
        )
    _, wall, _, text = min(runs)
    peak_rss = max(run[2] for run in runs)
    measured = json.loads(text)
    encode_write = measured["seconds_by_phase"]["encode_write"]
    return {
        "input_mb": round(num_bytes / 1e6, 1),
        "num_segments": num_segments,
        "num_tokens": measured["num_tokens"],
        "build_seconds": round(wall, 1),
        "seconds_by_phase": {k: round(v, 2) for k, v in measured["seconds_by_phase"].items()},
        "encode_write_tokens_s": round(measured["num_tokens"] / encode_write),
        "encode_write_mb_s": round(num_bytes / 1e6 / encode_write, 2),
        "peak_rss_mb": round(peak_rss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target-mb", type=float, default=40.0)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    if not DATA.is_dir():
        sys.exit(f"benchmark data not found at {DATA}")
    quarter = measure(args.target_mb / 4, "quarter", repeats=1)
    full = measure(args.target_mb, "full", repeats=2)
    model = WORK / "shards-full" / "vocab" / "spm.model"
    spm_seconds, spm_tokens = sentencepiece_alone(WORK / "corpus-full", model, repeats=3)
    spm_tokens_s = spm_tokens / spm_seconds
    result = {
        "config": CONFIG.model_dump(mode="json"),
        "runner": "FnApiRunner in-memory (one process, one core); SentencePiece 1 thread",
        "full": full,
        "quarter": quarter,
        "sentencepiece_alone_tokens_s": round(spm_tokens_s),
        "sentencepiece_alone_mb_s": round(full["input_mb"] / spm_seconds, 2),
        # Same input text for both: the ratio of their MB/s (tokens/s would also count the records the
        # build drops as decontaminated, which it never encodes).
        "ratio_encode_write_vs_sentencepiece": round(full["encode_write_mb_s"] / (full["input_mb"] / spm_seconds), 2),
        "peak_rss_ratio_full_vs_quarter": round(full["peak_rss_mb"] / quarter["peak_rss_mb"], 2),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'':38} {'input MB':>9} {'segments':>10} {'tokens/s':>10} {'MB/s':>6} {'peak RSS MB':>12}")
    for label, run in (("encode+write, full input", full), ("encode+write, quarter input", quarter)):
        print(
            f"{label:38} {run['input_mb']:9.1f} {run['num_segments']:10,} {run['encode_write_tokens_s']:10,}"
            f" {run['encode_write_mb_s']:6.2f} {run['peak_rss_mb']:12,}"
        )
    print(
        f"{'SentencePiece encode alone, full':38} {full['input_mb']:9.1f} {'':10} {round(spm_tokens_s):10,} "
        f"{result['sentencepiece_alone_mb_s']:6.2f}"
    )
    print(f"\nencode+write / SentencePiece alone: {result['ratio_encode_write_vs_sentencepiece']:.2f}")
    print(f"peak RSS full / quarter input: {result['peak_rss_ratio_full_vs_quarter']:.2f}")
    print(f"phases (s), full: {full['seconds_by_phase']}")
    print(f"wrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
