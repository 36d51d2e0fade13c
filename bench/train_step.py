"""Training-step throughput on CPU: our XLM against transformers' XLMWithLMHeadModel, same run.

Both models have the same config and weights and see the same masked batch; a step is forward,
backward, gradient clipping and an AdamW update. Steps alternate between the two models so that
load from other work on the machine hits both alike. Prints a table and writes
bench/results/train_step.json.

    .venv/bin/python bench/train_step.py [--preset small] [--vocab-size 32000] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from xlmforge.training.config import ModelConfig, ObjectivesConfig
from xlmforge.training.export import to_hf_model
from xlmforge.training.model import XLM
from xlmforge.training.objectives import StreamBatch, mask_tokens, mlm_loss

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--vocab-size", type=int, default=32000)
    parser.add_argument("--num-langs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per model, after one warm-up step")
    args = parser.parse_args()

    torch.manual_seed(0)
    cfg = ModelConfig(preset=args.preset, vocab_size=args.vocab_size, num_langs=args.num_langs)
    objectives = ObjectivesConfig(mlm_steps=("en",))
    ours = XLM(cfg).train()
    theirs = to_hf_model(ours.state_dict(), cfg, [f"l{i}" for i in range(args.num_langs)]).train()
    tokens = torch.randint(5, args.vocab_size, (args.batch_size, args.seq_len))
    batch = StreamBatch(lang_id=1, tokens=tokens)
    optimizers = {
        name: torch.optim.AdamW(model.parameters(), lr=1e-4)
        for name, model in (("xlmforge", ours), ("transformers", theirs))
    }

    def our_step() -> float:
        # masking happens inside the step, as in training
        loss = mlm_loss(ours, batch, objectives, torch.Generator().manual_seed(0))
        return finish("xlmforge", ours, loss)

    def their_step() -> float:
        masked = mask_tokens(tokens, objectives, args.vocab_size, torch.Generator().manual_seed(0))
        labels = torch.where(masked.predict_mask, tokens, -100)
        logits = theirs(input_ids=masked.inputs, langs=torch.full_like(tokens, 1)).logits  # (B, T, V)
        loss = F.cross_entropy(logits.view(-1, args.vocab_size), labels.view(-1), ignore_index=-100)
        return finish("transformers", theirs, loss)

    def finish(name: str, model: torch.nn.Module, loss: torch.Tensor) -> float:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizers[name].step()
        optimizers[name].zero_grad(set_to_none=True)
        return loss.item()

    times: dict[str, list[float]] = {"xlmforge": [], "transformers": []}
    for step in range(args.steps + 1):
        for name, run in (("xlmforge", our_step), ("transformers", their_step)):
            start = time.perf_counter()
            run()
            if step > 0:  # step 0 warms up allocators and kernels
                times[name].append(time.perf_counter() - start)

    # On a shared machine the best step is the least disturbed one; the median is shown beside it.
    num_tokens = args.batch_size * args.seq_len
    rows = {
        name: {
            "best_seconds": min(t),
            "median_seconds": statistics.median(t),
            "tokens_per_second": num_tokens / min(t),
            "all_seconds": t,
        }
        for name, t in times.items()
    }
    ratio = rows["xlmforge"]["tokens_per_second"] / rows["transformers"]["tokens_per_second"]
    median_ratio = rows["transformers"]["median_seconds"] / rows["xlmforge"]["median_seconds"]
    print(
        f"{args.preset} preset, vocab {args.vocab_size}, batch {args.batch_size}x{args.seq_len}, "
        f"{torch.get_num_threads()} threads, {args.steps} timed steps each"
    )
    print(f"{'model':<14}{'best s/step':>12}{'median s/step':>15}{'tokens/s (best)':>17}")
    for name, row in rows.items():
        print(f"{name:<14}{row['best_seconds']:>12.2f}{row['median_seconds']:>15.2f}{row['tokens_per_second']:>17.0f}")
    print(f"ratio xlmforge / transformers: {ratio:.2f}x on best steps, {median_ratio:.2f}x on medians (target >= 1.3x)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train_step.json").write_text(
        json.dumps(
            {
                "config": vars(args),
                "model_params_millions": ours.num_params() / 1e6,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "machine": platform.processor() or platform.machine(),
                "results": rows,
                "ratio": ratio,
                "median_ratio": median_ratio,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
