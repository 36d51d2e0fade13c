"""The XLM encoder (Lample & Conneau 2019), weight-compatible with transformers' XLMWithLMHeadModel.

Token + position + language embeddings, a layer norm, then post-norm transformer blocks (attention,
add, norm; GELU feed-forward, add, norm) and an output projection tied to the token embeddings.
Shapes: B batch, T time, D model width, H heads, V vocabulary, N predicted positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from xlmforge.schemas.shards import PAD_ID
from xlmforge.training.config import ModelConfig


class SelfAttention(nn.Module):
    """Multi-head self-attention through scaled_dot_product_attention."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.num_heads = cfg.num_heads
        self.dropout = cfg.attention_dropout
        self.q = nn.Linear(cfg.dim, cfg.dim)
        self.k = nn.Linear(cfg.dim, cfg.dim)
        self.v = nn.Linear(cfg.dim, cfg.dim)
        self.out = nn.Linear(cfg.dim, cfg.dim)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None, causal: bool) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = (proj(x).view(B, T, self.num_heads, D // self.num_heads).transpose(1, 2)
                   for proj in (self.q, self.k, self.v))  # (B, H, T, D/H)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal,
        )  # (B, H, T, D/H)
        return self.out(y.transpose(1, 2).reshape(B, T, D))


class FeedForward(nn.Module):
    """Two linear layers with GELU between them."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.up = nn.Linear(cfg.dim, cfg.hidden_dim)
        self.down = nn.Linear(cfg.hidden_dim, cfg.dim)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.gelu(self.up(x))))


class Block(nn.Module):
    """A post-norm transformer block, as in XLM."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn = SelfAttention(cfg)
        self.norm1 = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        self.ffn = FeedForward(cfg)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None, causal: bool) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.attn(x, attn_mask, causal)))
        return self.norm2(x + self.ffn(x))


def sinusoidal_positions(num_positions: int, dim: int) -> torch.Tensor:
    """(num_positions, dim) table: sin on even, cos on odd channels (Vaswani et al.)."""
    position = torch.arange(num_positions, dtype=torch.float64)[:, None]
    frequency = torch.pow(10000.0, -torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    table = torch.zeros(num_positions, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table.float()


class XLM(nn.Module):
    """The encoder and its tied language-model head."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if not (cfg.vocab_size > 0 and cfg.num_langs > 0):
            raise ValueError("model.vocab_size and model.num_langs must be set (they come from the manifest)")
        self.cfg = cfg
        self.token_emb = nn.Embedding(cfg.vocab_size, cfg.dim, padding_idx=PAD_ID)
        self.pos_emb = nn.Embedding(cfg.max_positions, cfg.dim)
        # transformers' XLMModel adds language embeddings only with more than one language
        self.lang_emb = nn.Embedding(cfg.num_langs, cfg.dim) if cfg.use_lang_emb and cfg.num_langs > 1 else None
        self.emb_norm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps)
        self.emb_dropout = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.num_layers))
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size)
        self.lm_head.weight = self.token_emb.weight  # tied, as in XLM
        self.apply(self._init_weights)
        if cfg.sinusoidal_positions:
            with torch.no_grad():
                self.pos_emb.weight.copy_(sinusoidal_positions(cfg.max_positions, cfg.dim))
            self.pos_emb.weight.requires_grad_(False)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=self.cfg.dim**-0.5)  # XLM's embedding init
            if module.padding_idx is not None:
                nn.init.zeros_(module.weight[module.padding_idx])

    def num_params(self) -> int:
        """Number of parameters, counting the tied projection once."""
        return sum(p.numel() for p in self.parameters())

    def encode(
        self,
        tokens: torch.Tensor,  # (B, T)
        langs: torch.Tensor,  # (B, T) language ids
        positions: torch.Tensor | None = None,  # (B, T), default 0..T-1
        padding_mask: torch.Tensor | None = None,  # (B, T) True on real tokens
        causal: bool = False,
        num_layers: int | None = None,  # stop after this many blocks (0: embeddings only)
    ) -> torch.Tensor:
        """Hidden states (B, T, D) after `num_layers` blocks (all by default); padding positions are zero."""
        B, T = tokens.shape
        if T > self.cfg.max_positions:
            raise ValueError(f"sequence of {T} tokens is longer than max_positions={self.cfg.max_positions}")
        if positions is None:
            positions = torch.arange(T, device=tokens.device).expand(B, T)
        x = self.token_emb(tokens) + self.pos_emb(positions)  # (B, T, D)
        if self.lang_emb is not None:
            x = x + self.lang_emb(langs)
        x = self.emb_dropout(self.emb_norm(x))
        attn_mask, keep = None, None
        if padding_mask is not None:
            keep = padding_mask[..., None].to(x.dtype)  # (B, T, 1)
            # Causal attention is the triangle alone, as in XLM and transformers' XLMModel: padding is zeroed
            # but not hidden from later queries (with right padding no real token has padding before it).
            attn_mask = None if causal else padding_mask[:, None, None, :]  # (B, 1, 1, T): keys attended to
            x = x * keep
        for block in self.blocks[:num_layers]:
            x = block(x, attn_mask, causal)
            if keep is not None:
                x = x * keep  # as transformers' XLMModel: padding positions stay zero
        return x

    def forward(
        self,
        tokens: torch.Tensor,  # (B, T)
        langs: torch.Tensor,  # (B, T)
        predict_mask: torch.Tensor,  # (B, T) True where a prediction is scored
        positions: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """Logits (N, V) at the N positions of `predict_mask`; the head runs only there (XLM's pred_mask)."""
        h = self.encode(tokens, langs, positions, padding_mask, causal)  # (B, T, D)
        return self.lm_head(h[predict_mask])  # (N, V)

