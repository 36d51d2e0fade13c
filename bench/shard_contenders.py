"""The contenders of the shard benchmarks, run the same way by bench/encode_shards.py and bench/shard_scaling.py:

* xlmforge: `build_shards` (plan, scan, vocabulary training, encode + write, finish) in a child process
  on the in-memory direct runner (one process, one core); the parent samples the child's peak RSS
  (contenders.run_measured), the child reports the build's own time per phase;
* SentencePiece alone: `SentencePieceProcessor.encode` of the same texts in the same batches, with the
  build's vocabulary model and one thread (what the build's encode stage uses in each worker), in this
  process, file reads excluded.

Run as `python -m bench.shard_contenders CONFIG CORPUS OUT RESULT`, it is the child.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import sentencepiece as spm

from bench.contenders import Measured, best, run_measured
from xlmforge.pipelines.common.parts import read_batches
from xlmforge.pipelines.shards.config import ShardsConfig

CONFIG = ShardsConfig(
    vocab={"size": 16000, "num_sample_sentences": 100_000},  # the same sample at every input size
    splits={"valid_size": 200, "test_size": 200},
    shards={"target_bytes": "8MB"},
)
MAX_HELDOUT_SHARE = 0.1  # arz (181 lines) and wuu (206) have fewer than 200 + 200; small inputs most languages


def config_for(lines_by_lang: dict[str, list[str]], vocab_model: Path | None = None) -> ShardsConfig:
    """CONFIG for this input: a language's valid and test sizes at most a tenth of its lines each, and the
    vocabulary `vocab_model` kept instead of trained when given."""
    sizes = {}
    for lang, lines in lines_by_lang.items():
        cap = int(MAX_HELDOUT_SHARE * len(lines))
        if cap < max(CONFIG.splits.valid_size, CONFIG.splits.test_size):
            sizes[lang] = {"valid": min(cap, CONFIG.splits.valid_size), "test": min(cap, CONFIG.splits.test_size)}
    config = CONFIG.model_dump()
    config["splits"]["sizes"] = sizes
    config["vocab"]["model"] = str(vocab_model) if vocab_model else None
    return ShardsConfig.model_validate(config)


@dataclasses.dataclass(frozen=True)
class ShardBuild:
    measured: Measured  # wall time and peak RSS of the child process
    seconds_by_phase: dict[str, float]  # the build's own clock: plan, scan, vocab, encode_write, finish
    num_tokens: int  # in the Arrow shards
    num_vocab_sentences: int  # the sample the vocabulary was trained on (0 when it was kept)


def xlmforge(corpus: Path, out: Path, config: ShardsConfig) -> ShardBuild:
    config_path, result_path = out.parent / f"{out.name}.json", out.parent / f"{out.name}-result.json"
    config_path.write_text(config.model_dump_json())
    wall, peak_rss = run_measured(
        [sys.executable, "-m", "bench.shard_contenders", str(config_path), str(corpus), str(out), str(result_path)]
    )
    result = json.loads(result_path.read_text())
    return ShardBuild(Measured(wall, peak_rss), **result)


def best_build(runs: list[ShardBuild]) -> ShardBuild:
    """The fastest build (contenders.best), with its phases and the highest peak RSS of all runs."""
    fastest = best([run.measured for run in runs])
    chosen = next(run for run in runs if run.measured.seconds == fastest.seconds)
    return dataclasses.replace(chosen, measured=fastest)


def segment_texts(corpus: Path) -> list[list[str]]:
    """The texts of every segments file of a corpus build, in the files' record batches."""
    return [batch.column("text").to_pylist() for path in sorted(corpus.rglob("*.arrow")) for batch in
            read_batches(str(path))]  # fmt: skip


def sentencepiece_alone(batches: list[list[str]], model: Path) -> tuple[Measured, int]:
    """Encoding every batch with one thread: (its time, tokens)."""
    processor = spm.SentencePieceProcessor(model_file=str(model))
    started = time.monotonic()
    num_tokens = sum(len(ids) for texts in batches for ids in processor.encode(texts, num_threads=1))
    return Measured(time.monotonic() - started, 0.0), num_tokens


def _child(config_path: str, corpus: str, out: str, result_path: str) -> None:
    from xlmforge.pipelines.jobs.shards import build_shards

    config = ShardsConfig.model_validate_json(Path(config_path).read_text())
    built = build_shards([corpus], out, config, overwrite=True)
    num_tokens = sum(s.num_tokens for s in built.manifest.shards if s.format == "arrow")
    result = {"seconds_by_phase": built.seconds_by_phase, "num_tokens": num_tokens,
              "num_vocab_sentences": built.manifest.build["num_vocab_sample_sentences"]}  # fmt: skip
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    _child(*sys.argv[1:])
