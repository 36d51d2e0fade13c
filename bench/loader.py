"""Loader throughput with 0 and 2 DataLoader workers, against what a training step consumes, same run.

Writes a synthetic corpus (random tokens, realistic segment lengths, 4 languages and one pair) through
the test fixture writer, streams MLM + TLM bundles from it, and times a few `small`-preset training
steps on batches of the same size. Prints a table and writes bench/results/loader.json.

    .venv/bin/python bench/loader.py [--num-tokens 4000000] [--bundles 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.training.xlm_corpus import train_sentencepiece, write_shards  # noqa: E402
from xlmforge.training.config import DataConfig, ModelConfig, ObjectivesConfig  # noqa: E402
from xlmforge.training.data import TrainLoader  # noqa: E402
from xlmforge.training.model import XLM  # noqa: E402
from xlmforge.training.objectives import objective_loss  # noqa: E402
from xlmforge.training.plan import build_plan, load_manifest  # noqa: E402

RESULTS = Path(__file__).parent / "results"
VOCAB_SIZE = 32000
LANGS = {"en": 0.5, "fr": 0.3, "de": 0.15, "sw": 0.05}  # share of the monolingual tokens


def synthetic_corpus(out_dir: Path, num_tokens: int, segments_per_shard: int = 4000) -> Path:
    rng = np.random.default_rng(0)

    def segment_list(count: int) -> list[np.ndarray]:
        lengths = rng.integers(8, 48, count)
        return [rng.integers(5, VOCAB_SIZE, n).astype(np.uint16) for n in lengths]

    def shards(tokens: int) -> list[list[np.ndarray]]:
        count = max(1, tokens // 28)  # 28 tokens per segment on average
        return [segment_list(min(segments_per_shard, count - i)) for i in range(0, count, segments_per_shard)]

    mono = {"train": {lang: shards(int(num_tokens * share)) for lang, share in LANGS.items()}}
    pairs = {"train": {"en-fr": [(s, segment_list(len(s))) for s in shards(num_tokens // 10)]}}
    return write_shards(out_dir, mono, pairs, train_sentencepiece(), VOCAB_SIZE)


def loader_rate(
    manifest: Path, num_workers: int, num_bundles: int, objectives: ObjectivesConfig, data: dict
) -> dict[str, float]:
    cfg = DataConfig(manifest=str(manifest), num_workers=num_workers, **data)
    plan = build_plan(*load_manifest(cfg.manifest), cfg, objectives)
    stream = iter(TrainLoader(plan))
    start = time.perf_counter()
    first = next(stream)
    warm = time.perf_counter()
    num_tokens = 0
    for bundle in islice(stream, num_bundles):
        num_tokens += sum(tb.num_tokens for tb in bundle)
    end = time.perf_counter()
    stream.close()
    return {
        "first_bundle_seconds": warm - start,
        "tokens_per_second": num_tokens / (end - warm),
        "bundles": num_bundles,
        "tokens": num_tokens,
        "first_bundle_tokens": sum(tb.num_tokens for tb in first),
    }


def step_consumption(manifest: Path, objectives: ObjectivesConfig, data: dict, num_steps: int) -> float:
    """Tokens per second that `small`-preset training steps take from the same loader."""
    cfg = DataConfig(manifest=str(manifest), **data)
    plan = build_plan(*load_manifest(cfg.manifest), cfg, objectives)
    model = XLM(ModelConfig(preset="small", vocab_size=VOCAB_SIZE, num_langs=len(plan.languages))).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    bundles = [next(iter(TrainLoader(plan)))] * (num_steps + 1)
    elapsed, num_tokens = 0.0, 0
    for index, bundle in enumerate(bundles):
        start = time.perf_counter()
        for task_batch in bundle:
            objective_loss(task_batch.task.split(":")[0], model, task_batch.batch, objectives, generator).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if index > 0:  # the first step warms up
            elapsed += time.perf_counter() - start
            num_tokens += sum(tb.num_tokens for tb in bundle)
    return num_tokens / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-tokens", type=int, default=4_000_000, help="monolingual tokens in the corpus")
    parser.add_argument("--bundles", type=int, default=300)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    objectives = ObjectivesConfig(mlm_steps=(*LANGS, "en-fr"))
    data = {"seq_len": 256, "tokens_per_batch": 2048, "max_sentence_len": 100}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        manifest = synthetic_corpus(Path(tmp), args.num_tokens)
        print(f"corpus: {args.num_tokens:,} mono tokens written in {time.perf_counter() - start:.1f} s")
        rows = {f"loader, {w} workers": loader_rate(manifest, w, args.bundles, objectives, data) for w in (0, 2)}
        consumption = step_consumption(manifest, objectives, data, args.steps)
    print(f"MLM on {len(LANGS)} languages + TLM en-fr, 2048 tokens per batch, {args.bundles} bundles")
    print(f"{'':<22}{'tokens/s':>12}{'x step':>9}{'first bundle s':>16}")
    for name, row in rows.items():
        row["ratio_to_step"] = row["tokens_per_second"] / consumption
        print(
            f"{name:<22}{row['tokens_per_second']:>12,.0f}{row['ratio_to_step']:>8.0f}x"
            f"{row['first_bundle_seconds']:>16.2f}"
        )
    print(f"{'small training step':<22}{consumption:>12,.0f}{1:>8.0f}x")
    print("target: loader >= 20x the step's consumption")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "loader.json").write_text(
        json.dumps(
            {
                "config": vars(args) | data | {"objectives": list(objectives.mlm_steps)},
                "threads": torch.get_num_threads(),
                "loader": rows,
                "step_tokens_per_second": consumption,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
