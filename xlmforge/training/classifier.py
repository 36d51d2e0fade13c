"""A sequence classifier on the XLM encoder, weight-compatible with transformers' XLMForSequenceClassification.

As transformers' XLMSequenceSummary with its XLMConfig defaults (summary_type "first", a projection to
the labels, no activation) and XLM's own XNLI fine-tuning: the last hidden state of the first token
(the `</s>` that opens every input), dropout, one linear layer to the label logits. The first token,
not a mean: transformers' "mean" averages over padding too, so it would not give equal logits.
Shapes: B batch, T time, D model width, C labels.
"""

from __future__ import annotations

import torch
from torch import nn

from xlmforge.training.config import ModelConfig
from xlmforge.training.model import XLM


class XLMClassifier(nn.Module):
    """The pretrained encoder and a classification head over its first token."""

    def __init__(self, cfg: ModelConfig, num_labels: int, dropout: float):
        super().__init__()
        self.encoder = XLM(cfg)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(cfg.dim, num_labels)
        nn.init.normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)

    def embedding_parameters(self) -> list[nn.Parameter]:
        """Token, position and language embeddings: what `freeze_embeddings` holds fixed."""
        encoder = self.encoder
        tables = [encoder.token_emb, encoder.pos_emb] + ([encoder.lang_emb] if encoder.lang_emb is not None else [])
        return [table.weight for table in tables]

    def forward(
        self,
        tokens: torch.Tensor,  # (B, T)
        langs: torch.Tensor,  # (B, T)
        positions: torch.Tensor,  # (B, T)
        padding_mask: torch.Tensor,  # (B, T) True on real tokens
    ) -> torch.Tensor:
        """Label logits (B, C)."""
        hidden = self.encoder.encode(tokens, langs, positions, padding_mask)  # (B, T, D)
        return self.proj(self.dropout(hidden[:, 0]))  # (B, C)
