"""The optimizer (AdamW, or Adam as in XLM) and the learning-rate schedule."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from xlmforge.training.config import OptimConfig


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """Weight decay on matrices only; biases and layer norms are not decayed."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer_class = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return optimizer_class(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)


class LRSchedule:
    """Linear warmup, then cosine / linear decay to min_lr_ratio x lr, constant, or XLM's inverse sqrt."""

    def __init__(self, cfg: OptimConfig, max_steps: int):
        self.cfg, self.max_steps = cfg, max_steps
        self.step = 0  # optimizer steps taken

    def lr(self, step: int) -> float:
        cfg = self.cfg
        if step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        if cfg.schedule == "inverse_sqrt":
            return cfg.lr * math.sqrt(max(1, cfg.warmup_steps) / (step + 1))
        if cfg.schedule == "constant":
            return cfg.lr
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, self.max_steps - cfg.warmup_steps))
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if cfg.schedule == "cosine" else 1 - progress
        return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * shape)

    def apply(self, optimizer: torch.optim.Optimizer) -> float:
        """Set the learning rate of the coming step on every parameter group; returns it."""
        lr = self.lr(self.step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def advance(self) -> None:
        self.step += 1

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = state["step"]
