"""The three XLM objectives. Each takes a model and a batch and returns its mean loss.

Masking randomness comes only from the `torch.Generator` the caller passes (the trainer owns and
checkpoints it), so a resumed run masks the same positions as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from xlmforge.schemas.shards import EOS_ID, MASK_ID, PAD_ID, SPECIAL_TOKENS
from xlmforge.training.config import ObjectivesConfig

NUM_SPECIAL = len(SPECIAL_TOKENS)  # ids below this are never masked nor drawn as random words


@dataclasses.dataclass(frozen=True)
class StreamBatch:
    """Fixed-length streams of one language (MLM and CLM)."""

    lang_id: int
    tokens: torch.Tensor  # (B, T)


@dataclasses.dataclass(frozen=True)
class PairBatch:
    """Sentence pairs of one language pair (TLM), each side right-padded."""

    src_lang_id: int
    tgt_lang_id: int
    src: torch.Tensor  # (B, S)
    tgt: torch.Tensor  # (B, S')

    @property
    def num_tokens(self) -> int:
        return int((self.src != PAD_ID).sum() + (self.tgt != PAD_ID).sum())


@dataclasses.dataclass(frozen=True)
class Masked:
    """An MLM input: the corrupted tokens, where predictions are scored, and their targets."""

    inputs: torch.Tensor  # (B, T)
    predict_mask: torch.Tensor  # (B, T) bool
    targets: torch.Tensor  # (N,) original tokens at predict_mask, in row-major order


def mask_tokens(
    tokens: torch.Tensor,
    cfg: ObjectivesConfig,
    vocab_size: int,
    generator: torch.Generator,
    token_weights: torch.Tensor | None = None,
) -> Masked:
    """XLM masking: pick round(word_pred x eligible) positions, then mask / keep / random them 80/10/10.

    Eligible positions hold non-special tokens. With `token_weights` (XLM's sample_alpha: weight of a
    token id is count^-alpha) positions are drawn in proportion to the weight of their token.
    """
    eligible = (tokens >= NUM_SPECIAL).flatten()
    num_eligible = int(eligible.sum())
    if num_eligible == 0:
        raise ValueError("batch has no maskable token")
    weights = eligible.float() if token_weights is None else token_weights[tokens.flatten()] * eligible
    num_predict = max(1, round(cfg.word_pred * num_eligible))
    chosen = torch.multinomial(weights, num_predict, replacement=False, generator=generator)
    predict_mask = torch.zeros_like(eligible)
    predict_mask[chosen] = True
    predict_mask = predict_mask.view_as(tokens)
    targets = tokens[predict_mask]
    action = torch.multinomial(torch.tensor(cfg.word_mask_keep_rand), num_predict, replacement=True,
                               generator=generator)  # 0 mask, 1 keep, 2 random word
    random_words = torch.randint(NUM_SPECIAL, vocab_size, (num_predict,), generator=generator)
    replaced = torch.where(action == 0, MASK_ID, torch.where(action == 1, targets, random_words))
    inputs = tokens.clone()
    inputs[predict_mask] = replaced
    return Masked(inputs, predict_mask, targets)


def mlm_loss(
    model: nn.Module,
    batch: StreamBatch,
    cfg: ObjectivesConfig,
    generator: torch.Generator,
    token_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Masked LM on monolingual streams (no padding)."""
    masked = mask_tokens(batch.tokens, cfg, model_vocab_size(model), generator, token_weights)
    langs = torch.full_like(batch.tokens, batch.lang_id)
    on = _device_of(model)
    logits = model(masked.inputs.to(on), langs.to(on), masked.predict_mask.to(on))  # (N, V)
    return F.cross_entropy(logits.float(), masked.targets.to(on))


def concat_pairs(batch: PairBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """XLM's TLM input: `</s> src </s> </s> tgt </s>`, positions restarting at the target, one language
    id per side. Returns tokens, langs and positions, each (B, T), right-padded."""
    src_len, tgt_len = (batch.src != PAD_ID).sum(1), (batch.tgt != PAD_ID).sum(1)  # (B,)
    B, T = batch.src.shape[0], int((src_len + tgt_len).max()) + 4
    tokens = torch.full((B, T), PAD_ID, dtype=torch.long)
    langs = torch.full((B, T), batch.tgt_lang_id, dtype=torch.long)
    positions = torch.zeros((B, T), dtype=torch.long)
    for i in range(B):
        s, t = int(src_len[i]), int(tgt_len[i])
        tokens[i, 0], tokens[i, s + 1], tokens[i, s + 2], tokens[i, s + t + 3] = EOS_ID, EOS_ID, EOS_ID, EOS_ID
        tokens[i, 1 : s + 1] = batch.src[i, :s]
        tokens[i, s + 3 : s + t + 3] = batch.tgt[i, :t]
        langs[i, : s + 2] = batch.src_lang_id
        positions[i, : s + 2] = torch.arange(s + 2)
        positions[i, s + 2 : s + t + 4] = torch.arange(t + 2)
    return tokens, langs, positions


def tlm_loss(
    model: nn.Module,
    batch: PairBatch,
    cfg: ObjectivesConfig,
    generator: torch.Generator,
    token_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Translation LM: MLM over a concatenated sentence pair, so either side can use the other."""
    tokens, langs, positions = concat_pairs(batch)
    masked = mask_tokens(tokens, cfg, model_vocab_size(model), generator, token_weights)
    on = _device_of(model)
    logits = model(masked.inputs.to(on), langs.to(on), masked.predict_mask.to(on), positions=positions.to(on),
                   padding_mask=(tokens != PAD_ID).to(on))
    return F.cross_entropy(logits.float(), masked.targets.to(on))


def clm_loss(model: nn.Module, batch: StreamBatch) -> torch.Tensor:
    """Causal LM: each stream position predicts the next token."""
    on = _device_of(model)
    inputs, targets = batch.tokens[:, :-1].to(on), batch.tokens[:, 1:].to(on)  # (B, T-1)
    langs = torch.full_like(inputs, batch.lang_id)
    predict_mask = torch.ones_like(inputs, dtype=torch.bool)
    logits = model(inputs, langs, predict_mask, causal=True)  # (B*(T-1), V)
    return F.cross_entropy(logits.float(), targets.flatten())


def objective_loss(
    objective: str,
    model: nn.Module,
    batch: StreamBatch | PairBatch,
    cfg: ObjectivesConfig,
    generator: torch.Generator,
    token_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The loss of `objective` ("mlm", "tlm" or "clm") on `batch`."""
    if objective == "mlm":
        return mlm_loss(model, batch, cfg, generator, token_weights)
    if objective == "tlm":
        return tlm_loss(model, batch, cfg, generator, token_weights)
    if objective == "clm":
        return clm_loss(model, batch)
    raise ValueError(f"unknown objective {objective!r}; expected mlm, tlm or clm")


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def model_vocab_size(model: nn.Module) -> int:
    """Vocabulary size of an XLM, also when wrapped by DDP or torch.compile."""
    inner = getattr(model, "module", model)
    inner = getattr(inner, "_orig_mod", inner)
    return inner.cfg.vocab_size


def token_weights_from_counts(counts: torch.Tensor, sample_alpha: float) -> torch.Tensor:
    """XLM's frequency smoothing of masked positions: weight count^-alpha, specials 0, unseen tokens 0."""
    weights = counts.double().clamp(min=1).pow(-sample_alpha)
    weights[counts == 0] = 0.0
    weights[:NUM_SPECIAL] = 0.0
    return weights.float()
