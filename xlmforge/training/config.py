"""Typed configuration of a training run: one section per component, validated when it is made.

A run config is a YAML or TOML file with the sections `model`, `data`, `objectives`, `optim` and
`train`; every key is a field of the matching section below. Unknown keys and bad values raise
`ConfigError` naming the field and what it allows (see xlmforge.core.config).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from xlmforge.core.config import FieldError, Section, load_config

# Architecture presets: (num_layers, dim, num_heads). `small` is XLM's 6x512 encoder; `base` is 12x768.
MODEL_PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"num_layers": 2, "dim": 64, "num_heads": 4},
    "small": {"num_layers": 6, "dim": 512, "num_heads": 8},
    "base": {"num_layers": 12, "dim": 768, "num_heads": 12},
}
Positive = Annotated[int, Field(gt=0)]
NonNegative = Annotated[int, Field(ge=0)]
DropoutRate = Annotated[float, Field(ge=0.0, lt=1.0)]


class ModelConfig(Section):
    """The XLM architecture. `vocab_size` and `num_langs` of 0 are filled in from the manifest."""

    preset: Literal["tiny", "small", "base"] = "small"
    num_layers: Positive = 0  # 0: from the preset
    dim: Positive = 0
    num_heads: Positive = 0
    vocab_size: NonNegative = 0
    num_langs: NonNegative = 0
    max_positions: Positive = 512
    sinusoidal_positions: bool = False
    use_lang_emb: bool = True
    dropout: DropoutRate = 0.1
    attention_dropout: DropoutRate = 0.1
    layer_norm_eps: float = 1e-12

    @model_validator(mode="before")
    @classmethod
    def _sizes_from_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset", "small") in MODEL_PRESETS:
            preset = MODEL_PRESETS[data.get("preset", "small")]
            data = data | {name: value for name, value in preset.items() if not data.get(name)}
        return data

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> ModelConfig:
        if self.dim % self.num_heads:
            raise FieldError("dim", f"{self.dim} is not a multiple of num_heads={self.num_heads}")
        return self

    @property
    def hidden_dim(self) -> int:
        """Width of the feed-forward layer (4 x dim, fixed by XLM and transformers' XLMConfig)."""
        return 4 * self.dim


class DataConfig(Section):
    """Where the shards are and how they are streamed and batched."""

    manifest: str = Field(min_length=1)  # path or fsspec URL of manifest.json
    format: Literal["webdataset", "arrow"] = "webdataset"
    shard_opener: str = ""  # e.g. "pipe:aws s3 cp {url} -"; empty: open shards with fsspec
    seq_len: Annotated[int, Field(ge=2)] = 256  # tokens per MLM/CLM stream (XLM's bptt)
    max_sentence_len: Positive = 100  # tokens per side of a TLM pair, longer sides are cut
    tokens_per_batch: Positive = 2048
    alpha: Annotated[float, Field(gt=0)] | None = None  # overrides the manifest's sampling exponent
    shuffle_shards: Positive = 2  # shards whose sequences are shuffled together (the shuffle buffer)
    num_workers: NonNegative = 0
    on_corrupt: Literal["fail", "skip"] = "fail"
    seed: int = 0

    @field_validator("shard_opener")
    @classmethod
    def _opener_names_the_url(cls, opener: str) -> str:
        if opener and "{url}" not in opener:
            raise ValueError(f"{opener!r} must be a command with {{url}} where the shard's URL goes")
        return opener

    @model_validator(mode="after")
    def _batch_holds_a_sequence(self) -> DataConfig:
        longest = max(self.seq_len, 2 * self.max_sentence_len + 4)
        if self.tokens_per_batch < longest:
            raise FieldError("tokens_per_batch", f"{self.tokens_per_batch} must be >= one sequence ({longest} tokens: "
                             "seq_len, or a TLM pair of 2 x max_sentence_len + 4)")  # fmt: skip
        return self


_STEP = re.compile(r"^[a-z][a-z0-9_]*(-[a-z][a-z0-9_]*)?$")


class ObjectivesConfig(Section):
    """Which objectives run on which languages, and the MLM masking rules (XLM defaults)."""

    # "en" runs MLM on English streams, "en-fr" runs TLM on en-fr pairs; XLM's "en,fr,en-fr" works too.
    mlm_steps: tuple[str, ...] = ()
    clm_steps: tuple[str, ...] = ()
    lambda_mlm: Annotated[float, Field(ge=0)] = 1.0  # loss weight of MLM and TLM
    lambda_clm: Annotated[float, Field(ge=0)] = 1.0
    word_pred: Annotated[float, Field(gt=0, lt=1)] = 0.15
    word_mask_keep_rand: tuple[float, float, float] = (0.8, 0.1, 0.1)
    sample_alpha: Annotated[float, Field(ge=0)] = 0.0  # > 0: masked positions weighted by count(token)^-sample_alpha

    @field_validator("mlm_steps", "clm_steps", mode="before")
    @classmethod
    def _xlm_style_list(cls, steps: Any) -> Any:
        return [step for step in steps.split(",") if step] if isinstance(steps, str) else steps

    @field_validator("mlm_steps", "clm_steps")
    @classmethod
    def _languages_or_pairs(cls, steps: tuple[str, ...]) -> tuple[str, ...]:
        for step in steps:
            if not _STEP.match(step):
                raise ValueError(f"{step!r}: expected language codes 'xx' or pairs 'xx-yy'")
        if len(set(steps)) != len(steps):
            raise ValueError(f"{list(steps)} repeats an entry")
        return steps

    @field_validator("clm_steps")
    @classmethod
    def _clm_on_languages(cls, steps: tuple[str, ...]) -> tuple[str, ...]:
        if pairs := [step for step in steps if "-" in step]:
            raise ValueError(f"{pairs}: CLM runs on single languages, not pairs")
        return steps

    @field_validator("word_mask_keep_rand")
    @classmethod
    def _probabilities(cls, probs: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(probs) < 0 or abs(sum(probs) - 1) > 1e-6:
            raise ValueError(f"{list(probs)}: expected three non-negative floats summing to 1")
        return probs

    @model_validator(mode="after")
    def _something_to_train(self) -> ObjectivesConfig:
        if not (self.mlm_steps or self.clm_steps):
            raise ValueError("at least one of mlm_steps, clm_steps must name a language")
        return self


class OptimConfig(Section):
    """Optimizer and learning-rate schedule (AdamW + cosine, or XLM's Adam + inverse-sqrt warmup)."""

    optimizer: Literal["adamw", "adam"] = "adamw"
    schedule: Literal["cosine", "linear", "constant", "inverse_sqrt"] = "cosine"
    lr: Annotated[float, Field(gt=0)] = 1e-4
    min_lr_ratio: Annotated[float, Field(ge=0, le=1)] = 0.1  # the floor of cosine/linear decay, as a fraction of lr
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (0.9, 0.98)
    eps: Annotated[float, Field(gt=0)] = 1e-6
    weight_decay: Annotated[float, Field(ge=0)] = 0.01
    warmup_steps: NonNegative = 1000
    clip_norm: Annotated[float, Field(ge=0)] = 1.0  # 0 disables clipping
    grad_accum_steps: Positive = 1


class TrainConfig(Section):
    """The loop: length, device, logging, evaluation and checkpoints."""

    out_dir: str = "runs/xlm"
    max_steps: Positive = 1000
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compile: bool = False
    log_every: NonNegative = 10
    eval_every: NonNegative = 0  # 0: only at the end
    num_valid_batches: NonNegative = 20  # per language and objective
    checkpoint_every: NonNegative = 500
    keep_checkpoints: Positive = 3
    resume: bool = True  # continue from the newest complete checkpoint in out_dir
    # A checkpoint (path or URL) of an earlier run whose weights this run starts from: a warm start, e.g. after
    # languages were added with vocab_policy=keep (see training/warm_start.py). Optimizer, schedule, loader and
    # step start afresh. Only when out_dir has no checkpoint yet: once this run has saved one, it resumes from that.
    init_from: Annotated[str, Field(min_length=1)] | None = None
    tensorboard: bool = True


class RunConfig(Section):
    """A whole training run."""

    model: ModelConfig
    data: DataConfig
    objectives: ObjectivesConfig
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()


class FinetuneConfig(Section):
    """Fine-tuning a pretrained checkpoint on a labelled task (`xlmforge finetune`), then scoring it
    zero-shot on every language of the evaluation files. Defaults follow XLM's XNLI fine-tuning where
    it has one (first-token pooling, dropout 0.1, patience in epochs)."""

    checkpoint: str = Field(min_length=1)  # a pretraining checkpoint (runs/.../step-00001000.pt)
    train: str = Field(min_length=1)  # TSV or JSONL: text, label [, text_pair] [, lang]
    eval: tuple[str, ...] = Field(min_length=1)  # files with a lang column, scored per language
    dev: str | None = None  # early stopping on this file's accuracy (the training language's)
    out_dir: str = "runs/finetune"
    train_lang: str | None = None  # the training file's language when it has no lang column
    vocab: str | None = None  # a SentencePiece model; default: the one stored in the checkpoint
    lr: Annotated[float, Field(gt=0)] = 5e-5
    num_epochs: Positive = 3
    batch_size: Positive = 32
    # tokens per input, framing included; longer texts are cut. None: 128, or the checkpoint's max_positions if less
    max_length: Annotated[int, Field(ge=4)] | None = None
    seed: int = 0
    freeze_embeddings: bool = False  # keep token, position and language embeddings as pretrained
    patience: Positive = 2  # with a dev file: stop after this many epochs without a better dev accuracy
    dropout: DropoutRate = 0.1  # before the classification layer (transformers' summary_first_dropout)
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.1  # of all steps; then linear decay to 0
    weight_decay: Annotated[float, Field(ge=0)] = 0.01
    clip_norm: Annotated[float, Field(ge=0)] = 1.0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    log_every: Positive = 20


def load_run_config(path: str | Path, data: dict[str, Any] | None = None) -> RunConfig:
    """Read a run config from a .yaml, .yml or .toml file (or its mapping `data`, already read)."""
    return load_config(str(path), RunConfig, "run config", data)
