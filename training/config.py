"""Typed configuration of a training run: one frozen dataclass per component, validated once on load.

A run config is a YAML or TOML file with the sections `model`, `data`, `objectives`, `optim` and
`train`; every key is a field of the matching dataclass below. Unknown keys and bad values raise
`ConfigError` naming the field and what it allows.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal

import yaml


class ConfigError(ValueError):
    """A configuration value that is not allowed."""


def _require(ok: bool, field: str, allowed: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"{field}: {value!r} is not allowed; expected {allowed}")


# Architecture presets: (num_layers, dim, num_heads). `small` is XLM's 6x512 encoder; `base` is 12x768.
MODEL_PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"num_layers": 2, "dim": 64, "num_heads": 4},
    "small": {"num_layers": 6, "dim": 512, "num_heads": 8},
    "base": {"num_layers": 12, "dim": 768, "num_heads": 12},
}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The XLM architecture. `vocab_size` and `num_langs` of 0 are filled in from the manifest."""

    preset: str = "small"
    num_layers: int = 0  # 0: from the preset
    dim: int = 0
    num_heads: int = 0
    vocab_size: int = 0
    num_langs: int = 0
    max_positions: int = 512
    sinusoidal_positions: bool = False
    use_lang_emb: bool = True
    dropout: float = 0.1
    attention_dropout: float = 0.1
    layer_norm_eps: float = 1e-12

    def __post_init__(self) -> None:
        _require(self.preset in MODEL_PRESETS, "model.preset", f"one of {sorted(MODEL_PRESETS)}", self.preset)
        for name, value in MODEL_PRESETS[self.preset].items():
            if getattr(self, name) == 0:
                object.__setattr__(self, name, value)
        for name in ("num_layers", "dim", "num_heads", "max_positions"):
            _require(getattr(self, name) > 0, f"model.{name}", "a positive integer", getattr(self, name))
        _require(self.dim % self.num_heads == 0, "model.dim", f"a multiple of num_heads={self.num_heads}", self.dim)
        _require(self.vocab_size >= 0 and self.num_langs >= 0, "model.vocab_size/num_langs", ">= 0", self.vocab_size)
        for name in ("dropout", "attention_dropout"):
            _require(0.0 <= getattr(self, name) < 1.0, f"model.{name}", "a float in [0, 1)", getattr(self, name))

    @property
    def hidden_dim(self) -> int:
        """Width of the feed-forward layer (4 x dim, fixed by XLM and transformers' XLMConfig)."""
        return 4 * self.dim


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the shards are and how they are streamed and batched."""

    manifest: str = ""  # path or fsspec URL of manifest.json
    format: Literal["webdataset", "arrow"] = "webdataset"
    shard_opener: str = ""  # e.g. "pipe:aws s3 cp {url} -"; empty: open shards with fsspec
    seq_len: int = 256  # tokens per MLM/CLM stream (XLM's bptt)
    max_sentence_len: int = 100  # tokens per side of a TLM pair, longer sides are cut
    tokens_per_batch: int = 2048
    alpha: float | None = None  # overrides the manifest's sampling exponent
    shuffle_shards: int = 2  # shards whose sequences are shuffled together (the shuffle buffer)
    num_workers: int = 0
    on_corrupt: Literal["fail", "skip"] = "fail"
    seed: int = 0

    def __post_init__(self) -> None:
        _require(bool(self.manifest), "data.manifest", "a path or URL of manifest.json", self.manifest)
        _require(self.format in ("webdataset", "arrow"), "data.format", "'webdataset' or 'arrow'", self.format)
        _require(self.on_corrupt in ("fail", "skip"), "data.on_corrupt", "'fail' or 'skip'", self.on_corrupt)
        _require(self.seq_len >= 2, "data.seq_len", "an integer >= 2", self.seq_len)
        _require(self.max_sentence_len >= 1, "data.max_sentence_len", "a positive integer", self.max_sentence_len)
        _require(self.shuffle_shards >= 1, "data.shuffle_shards", "a positive integer", self.shuffle_shards)
        _require(self.num_workers >= 0, "data.num_workers", "an integer >= 0", self.num_workers)
        _require(self.alpha is None or self.alpha > 0, "data.alpha", "a positive float or null", self.alpha)
        _require(not self.shard_opener or "{url}" in self.shard_opener, "data.shard_opener", "a command with {url}",
                 self.shard_opener)
        longest = max(self.seq_len, 2 * self.max_sentence_len + 4)
        _require(self.tokens_per_batch >= longest, "data.tokens_per_batch",
                 f">= one sequence ({longest} tokens: seq_len, or a TLM pair of 2 x max_sentence_len + 4)",
                 self.tokens_per_batch)


_STEP = re.compile(r"^[a-z][a-z0-9_]*(-[a-z][a-z0-9_]*)?$")


@dataclasses.dataclass(frozen=True)
class ObjectivesConfig:
    """Which objectives run on which languages, and the MLM masking rules (XLM defaults)."""

    mlm_steps: tuple[str, ...] = ()  # "en" runs MLM on English streams, "en-fr" runs TLM on en-fr pairs
    clm_steps: tuple[str, ...] = ()
    lambda_mlm: float = 1.0  # loss weight of MLM and TLM
    lambda_clm: float = 1.0
    word_pred: float = 0.15
    word_mask_keep_rand: tuple[float, float, float] = (0.8, 0.1, 0.1)
    sample_alpha: float = 0.0  # > 0: masked positions chosen with weight count(token)^-sample_alpha

    def __post_init__(self) -> None:
        _require(bool(self.mlm_steps or self.clm_steps), "objectives", "at least one of mlm_steps, clm_steps", ())
        for field, steps in (("mlm_steps", self.mlm_steps), ("clm_steps", self.clm_steps)):
            for step in steps:
                _require(bool(_STEP.match(step)), f"objectives.{field}", "language codes 'xx' or pairs 'xx-yy'", step)
            _require(len(set(steps)) == len(steps), f"objectives.{field}", "no repeated entries", steps)
        for step in self.clm_steps:
            _require("-" not in step, "objectives.clm_steps", "single languages (CLM has no pairs)", step)
        _require(0.0 < self.word_pred < 1.0, "objectives.word_pred", "a float in (0, 1)", self.word_pred)
        probs = self.word_mask_keep_rand
        _require(len(probs) == 3 and min(probs) >= 0 and abs(sum(probs) - 1) < 1e-6,
                 "objectives.word_mask_keep_rand", "three non-negative floats summing to 1", probs)
        _require(self.sample_alpha >= 0, "objectives.sample_alpha", "a float >= 0", self.sample_alpha)
        _require(self.lambda_mlm >= 0 and self.lambda_clm >= 0, "objectives.lambda_*", "floats >= 0", self.lambda_mlm)


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """Optimizer and learning-rate schedule (AdamW + cosine, or XLM's Adam + inverse-sqrt warmup)."""

    optimizer: Literal["adamw", "adam"] = "adamw"
    schedule: Literal["cosine", "linear", "constant", "inverse_sqrt"] = "cosine"
    lr: float = 1e-4
    min_lr_ratio: float = 0.1  # the floor of cosine/linear decay, as a fraction of lr
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    weight_decay: float = 0.01
    warmup_steps: int = 1000
    clip_norm: float = 1.0  # 0 disables clipping
    grad_accum_steps: int = 1

    def __post_init__(self) -> None:
        _require(self.optimizer in ("adamw", "adam"), "optim.optimizer", "'adamw' or 'adam'", self.optimizer)
        schedules = ("cosine", "linear", "constant", "inverse_sqrt")
        _require(self.schedule in schedules, "optim.schedule", f"one of {schedules}", self.schedule)
        _require(self.lr > 0, "optim.lr", "a positive float", self.lr)
        _require(0 <= self.min_lr_ratio <= 1, "optim.min_lr_ratio", "a float in [0, 1]", self.min_lr_ratio)
        _require(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "optim.betas", "two floats in [0, 1)",
                 self.betas)
        _require(self.warmup_steps >= 0, "optim.warmup_steps", "an integer >= 0", self.warmup_steps)
        _require(self.clip_norm >= 0, "optim.clip_norm", "a float >= 0", self.clip_norm)
        _require(self.grad_accum_steps >= 1, "optim.grad_accum_steps", "a positive integer", self.grad_accum_steps)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The loop: length, device, logging, evaluation and checkpoints."""

    out_dir: str = "runs/xlm"
    max_steps: int = 1000
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compile: bool = False
    log_every: int = 10
    eval_every: int = 0  # 0: only at the end
    num_valid_batches: int = 20  # per language and objective
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    resume: bool = True  # continue from the newest complete checkpoint in out_dir
    tensorboard: bool = True

    def __post_init__(self) -> None:
        _require(self.device in ("auto", "cpu", "cuda"), "train.device", "'auto', 'cpu' or 'cuda'", self.device)
        _require(self.max_steps >= 1, "train.max_steps", "a positive integer", self.max_steps)
        for name in ("log_every", "eval_every", "checkpoint_every", "num_valid_batches"):
            _require(getattr(self, name) >= 0, f"train.{name}", "an integer >= 0", getattr(self, name))
        _require(self.keep_checkpoints >= 1, "train.keep_checkpoints", "a positive integer", self.keep_checkpoints)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A whole training run."""

    model: ModelConfig
    data: DataConfig
    objectives: ObjectivesConfig
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (lists for tuples): the form stored in checkpoints and accepted by `from_dict`."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build and validate a run config from nested dicts."""
        sections = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(sections)
        if unknown:
            raise ConfigError(f"unknown section(s) {sorted(unknown)}; allowed: {sorted(sections)}")
        hints = typing.get_type_hints(cls)
        return cls(**{name: _build(hints[name], data.get(name) or {}, name) for name in sections})


def load_run_config(path: str | Path) -> RunConfig:
    """Read a run config from a .yaml/.yml or .toml file."""
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    elif path.suffix == ".toml":
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    else:
        raise ConfigError(f"{path}: run config must be .yaml, .yml or .toml")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return RunConfig.from_dict(data)


def _build(cls: type, values: dict[str, Any], section: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{section}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{section}: unknown field(s) {sorted(unknown)}; allowed: {sorted(known)}")
    return cls(**{name: _coerce(hints[name], value, f"{section}.{name}") for name, value in values.items()})


def _coerce(hint: Any, value: Any, field: str) -> Any:
    """Convert a parsed YAML/TOML value to the field's type (YAML reads 1e-4 as a string, lists as lists)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if value is None and type(None) in args:
        return None
    if origin in (typing.Union, type(int | None)):
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    try:
        if origin is tuple:
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]  # XLM style: "en,fr,en-fr"
            item = args[0]
            return tuple(_coerce(item, v, field) for v in value)
        if origin is Literal:
            return value
        if hint is bool:
            if not isinstance(value, bool):
                raise TypeError
            return value
        if hint is int:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise TypeError
            return int(float(value))
        if hint is float:
            return float(value)
        if hint is str:
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field}: {value!r} is not a valid {getattr(hint, '__name__', hint)}") from None
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
