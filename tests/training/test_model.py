from __future__ import annotations

import torch
import torch.nn.functional as F

from xlmforge.schemas.shards import PAD_ID
from xlmforge.training.config import ModelConfig
from xlmforge.training.model import XLM


def tiny_model(**overrides: object) -> XLM:
    torch.manual_seed(0)
    return XLM(ModelConfig(**({"preset": "tiny", "vocab_size": 50, "num_langs": 3, "max_positions": 64}
                              | overrides)))


def test_cpu_training_steps_on_a_two_layer_model_lower_the_loss() -> None:
    model = tiny_model(dropout=0.0, attention_dropout=0.0)
    assert len(model.blocks) == 2
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(5, 50, (4, 16), generator=generator)
    langs = torch.randint(0, 3, (4, 16), generator=generator)
    predict = torch.rand(4, 16, generator=generator) < 0.3
    inputs = torch.where(predict, 4, tokens)
    losses = []
    for _ in range(15):
        loss = F.cross_entropy(model(inputs, langs, predict), tokens[predict])
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert model.lm_head.weight is model.token_emb.weight  # still tied after optimizer steps


def test_real_tokens_do_not_see_padding() -> None:
    model = tiny_model().eval()
    tokens = torch.randint(5, 50, (2, 12))
    tokens[0, 8:] = PAD_ID
    langs = torch.zeros_like(tokens)
    mask = tokens != PAD_ID
    other = tokens.clone()
    other[0, 8:] = 7  # different content where the mask says padding
    a = model.encode(tokens, langs, padding_mask=mask)
    b = model.encode(other, langs, padding_mask=mask)
    torch.testing.assert_close(a[mask], b[mask])
    assert (a[~mask] == 0).all()


def test_causal_positions_do_not_see_the_future() -> None:
    model = tiny_model().eval()
    tokens = torch.randint(5, 50, (2, 10))
    changed = tokens.clone()
    changed[:, 6:] = 9
    langs = torch.ones_like(tokens)
    a = model.encode(tokens, langs, causal=True)
    b = model.encode(changed, langs, causal=True)
    torch.testing.assert_close(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])
    # and a padding mask with no padding changes nothing under causal attention
    torch.testing.assert_close(model.encode(tokens, langs, padding_mask=torch.ones_like(tokens, dtype=torch.bool),
                                            causal=True), a)


def test_language_ids_and_sinusoidal_positions() -> None:
    model = tiny_model(sinusoidal_positions=True).eval()
    assert not model.pos_emb.weight.requires_grad
    tokens = torch.randint(5, 50, (1, 8))
    en, fr = model.encode(tokens, torch.zeros_like(tokens)), model.encode(tokens, torch.ones_like(tokens))
    assert not torch.allclose(en, fr)
    one_language = tiny_model(num_langs=1)
    assert one_language.lang_emb is None  # as transformers' XLMModel with n_langs=1
