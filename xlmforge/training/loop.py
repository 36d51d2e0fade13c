"""The training loop: `train(config) -> TrainResult`, and `python -m xlmforge.training.loop --config run.yaml`
(also under `torchrun --nproc_per_node=N`)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import logging
import os
import posixpath
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import torch
from torch.nn.parallel import DistributedDataParallel

from xlmforge.schemas.manifest import ShardManifest
from xlmforge.schemas.shards import SPECIAL_TOKENS
from xlmforge.training import distributed
from xlmforge.training.checkpoint import load_latest_checkpoint, save_checkpoint
from xlmforge.training.config import ModelConfig, RunConfig, load_run_config
from xlmforge.training.data import TaskBatch, TrainLoader, count_tokens
from xlmforge.training.evaluate import validation_perplexity
from xlmforge.training.model import XLM
from xlmforge.training.objectives import objective_loss, token_weights_from_counts
from xlmforge.training.optim import LRSchedule, build_optimizer
from xlmforge.training.plan import DataPlan, build_plan, load_manifest, log_sampling_table
from xlmforge.training.warm_start import check_compatible, read_init_checkpoint, warm_start

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What one call of `train` did."""

    step: int  # optimizer steps done in total (including those before a resume)
    first_step: int  # the step this call started from; losses[i] is the loss of step first_step + i + 1
    losses: list[float]  # the optimized (weighted) loss of each step, on this rank
    valid_perplexity: dict[str, float]  # "objective/lang" -> perplexity at the end
    checkpoint: str | None
    tokens_per_second: float  # over all ranks
    num_corrupt_shards: int  # skipped on this rank under on_corrupt="skip"


def resolve_model_config(cfg: ModelConfig, manifest: ShardManifest, plan: DataPlan) -> ModelConfig:
    """Fill vocab_size and num_langs from the manifest; a mismatch with explicit values is an error."""
    vocab = manifest.vocab
    if vocab.special_tokens != SPECIAL_TOKENS:
        raise ValueError(f"manifest vocabulary {vocab.path}: special tokens {vocab.special_tokens} differ from "
                         f"the project's fixed ids {SPECIAL_TOKENS}")
    if cfg.vocab_size and cfg.vocab_size != vocab.size:
        raise ValueError(f"model.vocab_size={cfg.vocab_size} does not match the manifest's vocabulary "
                         f"{vocab.path} of {vocab.size} entries")
    if cfg.num_langs and cfg.num_langs != len(plan.languages):
        raise ValueError(f"model.num_langs={cfg.num_langs} does not match the manifest's "
                         f"{len(plan.languages)} languages {list(plan.languages)}")
    return cfg.replace(vocab_size=vocab.size, num_langs=len(plan.languages))


def read_vocab_model(manifest: ShardManifest, base_url: str) -> bytes:
    """The SentencePiece model named by the manifest, checked against its sha256."""
    url = posixpath.join(base_url, manifest.vocab.path)
    with fsspec.open(url, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != manifest.vocab.sha256:
        raise ValueError(f"vocabulary {manifest.vocab.path}: sha256 does not match the manifest")
    return data


class Trainer:
    """Model, optimizer, schedule, loader and generators of one rank; state_dict() is the checkpoint."""

    def __init__(self, cfg: RunConfig, ctx: distributed.DistContext):
        self.cfg, self.ctx = cfg, ctx
        self.manifest, base_url = load_manifest(cfg.data.manifest)
        self.plan = build_plan(self.manifest, base_url, cfg.data, cfg.objectives)
        self.model_cfg = resolve_model_config(cfg.model, self.manifest, self.plan)
        self.vocab_url = posixpath.join(base_url, self.manifest.vocab.path)
        self.vocab_model = read_vocab_model(self.manifest, base_url)
        torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
        self.model = XLM(self.model_cfg).to(ctx.device)
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.schedule = LRSchedule(cfg.optim, cfg.train.max_steps)
        self.loader = TrainLoader(self.plan, ctx.rank, ctx.world_size)
        self.masking = torch.Generator().manual_seed(cfg.train.seed * 1_000_003 + ctx.rank)
        torch.manual_seed(cfg.train.seed + 1 + ctx.rank)  # dropout differs between ranks
        # token frequencies from the first shard of every task: downloaded once, by rank 0, not by every rank
        counts = distributed.from_main(ctx, lambda: count_tokens(self.plan)) if cfg.objectives.sample_alpha > 0 \
            else None
        self.token_weights = None if counts is None else token_weights_from_counts(counts, cfg.objectives.sample_alpha)
        wrapped: torch.nn.Module = self.model
        if ctx.world_size > 1:
            device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            wrapped = DistributedDataParallel(self.model, device_ids=device_ids)
        self.ddp = wrapped if ctx.world_size > 1 else None
        self.forward_model = torch.compile(wrapped) if cfg.train.compile else wrapped
        self.step = 0

    def state_dict(self) -> dict[str, Any]:
        """The whole checkpoint tree (a collective call under DDP: every rank contributes its loader and RNGs)."""
        mine = {"loader": self.loader.state_dict(), "masking_rng": self.masking.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(self.ctx.device) if self.ctx.device.type == "cuda" else None}
        config = self.cfg.to_dict() | {"model": self.model_cfg.to_dict()}
        return {"step": self.step, "config": config, "languages": list(self.plan.languages),
                "vocab": {"sha256": self.manifest.vocab.sha256, "size": self.manifest.vocab.size},
                "vocab_model": torch.frombuffer(bytearray(self.vocab_model), dtype=torch.uint8),
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict(), "ranks": distributed.gather_to_all(self.ctx, mine)}

    def load_state_dict(self, tree: dict[str, Any]) -> None:
        if tree["vocab"]["sha256"] != self.manifest.vocab.sha256:
            raise ValueError("checkpoint was trained with another vocabulary than the manifest's "
                             f"{self.manifest.vocab.path} (sha256 {tree['vocab']['sha256'][:16]} vs "
                             f"{self.manifest.vocab.sha256[:16]})")
        if ModelConfig(**tree["config"]["model"]) != self.model_cfg:
            raise ValueError(f"checkpoint model {tree['config']['model']} differs from this run's {self.model_cfg}")
        if len(tree["ranks"]) != self.ctx.world_size:
            raise ValueError(f"checkpoint has {len(tree['ranks'])} ranks; this run has {self.ctx.world_size}")
        self.model.load_state_dict(tree["model"])
        self.optimizer.load_state_dict(tree["optimizer"])
        self.schedule.load_state_dict(tree["schedule"])
        self.step = tree["step"]
        mine = tree["ranks"][self.ctx.rank]
        self.loader.load_state_dict(mine["loader"])
        self.masking.set_state(mine["masking_rng"])
        torch.set_rng_state(mine["torch_rng"])
        if mine["cuda_rng"] is not None and self.ctx.device.type == "cuda":
            torch.cuda.set_rng_state(mine["cuda_rng"], self.ctx.device)

    def warm_start(self, path: str) -> None:
        """Start from the weights of an earlier run's checkpoint (train.init_from); the rest stays fresh."""
        tree = read_init_checkpoint(path)
        check_compatible(tree, path, self.model_cfg, self.manifest.vocab.sha256, self.vocab_url)
        warm_start(self.model, tree, list(self.plan.languages))
        if self.ctx.is_main:
            log.info("warm start from %s (step %d, languages %s)", path, tree["step"], list(tree["languages"]))

    def _autocast(self) -> contextlib.AbstractContextManager:
        # bf16 on CUDA only: on CPU it is ~250x slower than fp32
        if self.ctx.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def train_step(self, bundles: Iterator[list[TaskBatch]]) -> tuple[float, dict[str, float], int]:
        """One optimizer step over grad_accum_steps micro-steps; returns the loss, per-task losses, tokens."""
        accum = self.cfg.optim.grad_accum_steps
        passes = [task_batch for _ in range(accum) for task_batch in next(bundles)]
        total, per_task, num_tokens = 0.0, {}, 0
        for index, task_batch in enumerate(passes):
            objective = task_batch.task.split(":")[0]
            weight = self.cfg.objectives.lambda_clm if objective == "clm" else self.cfg.objectives.lambda_mlm
            last = index == len(passes) - 1
            # DDP all-reduces gradients once, on the last backward of the step
            with self.ddp.no_sync() if self.ddp is not None and not last else contextlib.nullcontext():
                with self._autocast():
                    loss = objective_loss(objective, self.forward_model, task_batch.batch, self.cfg.objectives,
                                          self.masking, self.token_weights)
                (loss * weight / accum).backward()
            total += loss.item() * weight / accum
            per_task[task_batch.task] = loss.item()
            num_tokens += task_batch.num_tokens
        if self.cfg.optim.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.clip_norm)
        self.schedule.apply(self.optimizer)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.advance()
        self.step += 1
        return total, per_task, num_tokens

    def validate(self) -> dict[str, float]:
        return validation_perplexity(self.model, self.plan, self.cfg.objectives, self.cfg.train.num_valid_batches,
                                     self.ctx.rank, self.ctx.world_size, self.token_weights)

    def save(self) -> str:
        tree = self.state_dict()
        path = self.cfg.train.out_dir
        if self.ctx.is_main:
            path = save_checkpoint(tree, path, self.step, self.cfg.train.keep_checkpoints)
        distributed.barrier(self.ctx)
        return path

    def run(self) -> TrainResult:
        cfg = self.cfg.train
        if self.ctx.is_main:
            log_sampling_table(self.plan)
            log.info("model %s: %.2fM parameters, languages %s", self.model_cfg.preset,
                     self.model.num_params() / 1e6, list(self.plan.languages))
        writer = _tensorboard(cfg.out_dir) if cfg.tensorboard and self.ctx.is_main else None
        first_step, losses, checkpoint, saved_at = self.step, [], None, None
        meter = _Meter()
        bundles = iter(self.loader)
        try:
            while self.step < cfg.max_steps:
                loss, per_task, num_tokens = self.train_step(bundles)
                losses.append(loss)
                meter.add(loss, per_task, num_tokens * self.ctx.world_size)
                if cfg.log_every and self.step % cfg.log_every == 0:
                    self._report(meter, writer)
                if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.max_steps:
                    self._report_valid(self.validate(), writer)
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    checkpoint, saved_at = self.save(), self.step
        finally:
            bundles.close()  # stops DataLoader workers
        valid = self.validate()
        self._report_valid(valid, writer)
        if saved_at != self.step:
            checkpoint = self.save()
        if writer is not None:
            writer.close()
        return TrainResult(self.step, first_step, losses, valid, str(checkpoint) if self.ctx.is_main else None,
                           meter.overall_rate(), self.loader.num_corrupt_shards)

    def _report(self, meter: _Meter, writer: Any) -> None:
        loss, per_task, rate = meter.interval()
        lr = self.schedule.lr(self.step - 1)
        if self.ctx.is_main:
            tasks = " ".join(f"{task} {value:.3f}" for task, value in sorted(per_task.items()))
            log.info("step %d/%d | loss %.4f | %s | lr %.2e | %.0f tok/s", self.step, self.cfg.train.max_steps, loss,
                     tasks, lr, rate)
        if writer is not None:
            for name, value in {"train/loss": loss, "train/lr": lr, "train/tokens_per_s": rate,
                                **{f"train/loss_{task.replace(':', '_')}": v for task, v in per_task.items()}}.items():
                writer.add_scalar(name, value, self.step)

    def _report_valid(self, valid: dict[str, float], writer: Any) -> None:
        if self.ctx.is_main:
            log.info("step %d valid perplexity: %s", self.step,
                     ", ".join(f"{k} {v:.2f}" for k, v in sorted(valid.items())))
        if writer is not None:
            for name, value in valid.items():
                writer.add_scalar(f"valid/ppl_{name.replace('/', '_')}", value, self.step)


class _Meter:
    """Running averages for the progress line."""

    def __init__(self) -> None:
        self.start = self.mark = time.perf_counter()
        self.total_tokens = 0
        self._reset()

    def _reset(self) -> None:
        self.losses: list[float] = []
        self.per_task: dict[str, list[float]] = defaultdict(list)
        self.tokens = 0

    def add(self, loss: float, per_task: dict[str, float], num_tokens: int) -> None:
        self.losses.append(loss)
        for task, value in per_task.items():
            self.per_task[task].append(value)
        self.tokens += num_tokens
        self.total_tokens += num_tokens

    def interval(self) -> tuple[float, dict[str, float], float]:
        now = time.perf_counter()
        result = (sum(self.losses) / len(self.losses), {t: sum(v) / len(v) for t, v in self.per_task.items()},
                  self.tokens / max(now - self.mark, 1e-9))
        self.mark = now
        self._reset()
        return result

    def overall_rate(self) -> float:
        return self.total_tokens / max(time.perf_counter() - self.start, 1e-9)


def _tensorboard(out_dir: str) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ValueError("train.tensorboard is true but the tensorboard package is not installed") from err
    return SummaryWriter(log_dir=posixpath.join(out_dir, "tensorboard"))


def train(config: RunConfig | str | Path) -> TrainResult:
    """Train as configured: resume from the newest complete checkpoint in train.out_dir, or else start
    from the weights of train.init_from, or else from a random initialisation."""
    cfg = config if isinstance(config, RunConfig) else load_run_config(config)
    ctx = distributed.setup(cfg.train.device)
    try:
        trainer = Trainer(cfg, ctx)
        found = load_latest_checkpoint(cfg.train.out_dir) if cfg.train.resume else None
        if found is not None:
            path, tree = found
            trainer.load_state_dict(tree)
            if ctx.is_main:
                log.info("resumed from %s (step %d)", path, trainer.step)
        elif cfg.train.init_from:
            trainer.warm_start(cfg.train.init_from)
        return trainer.run()
    finally:
        distributed.teardown(ctx)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Pretrain an XLM model on xlmforge shards.")
    parser.add_argument("--config", required=True, help="run config (.yaml or .toml)")
    args = parser.parse_args(argv)
    is_main = int(os.environ.get("RANK", "0")) == 0
    logging.basicConfig(level=logging.INFO if is_main else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result = train(args.config)
    except (ValueError, FileNotFoundError) as err:  # a user's mistake (ConfigError is a ValueError): one message
        log.error("%s", err)
        raise SystemExit(2) from None
    if is_main:
        log.info("done: step %d, checkpoint %s, valid %s", result.step, result.checkpoint, result.valid_perplexity)


if __name__ == "__main__":
    main()
