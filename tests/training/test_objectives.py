"""Masking and sampling rules, stated as properties."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xlmforge.schemas.shards import EOS_ID, MASK_ID, PAD_ID
from xlmforge.training.config import ObjectivesConfig
from xlmforge.training.objectives import NUM_SPECIAL, PairBatch, concat_pairs, mask_tokens, token_weights_from_counts
from xlmforge.training.plan import sampling_probabilities

VOCAB = 40


def config(**overrides: object) -> ObjectivesConfig:
    return ObjectivesConfig(**({"mlm_steps": ("en",)} | overrides))


token_batches = st.tuples(st.integers(1, 6), st.integers(2, 40), st.integers(0, 2**31 - 1)).map(
    lambda shape: torch.randint(0, VOCAB, shape[:2], generator=torch.Generator().manual_seed(shape[2])))


@settings(max_examples=60, deadline=None)
@given(tokens=token_batches, word_pred=st.floats(0.05, 0.95), seed=st.integers(0, 2**31 - 1))
def test_masking_picks_the_stated_share_of_eligible_positions(tokens: torch.Tensor, word_pred: float,
                                                              seed: int) -> None:
    eligible = tokens >= NUM_SPECIAL
    if not eligible.any():
        tokens[0, 0] = NUM_SPECIAL
        eligible = tokens >= NUM_SPECIAL
    masked = mask_tokens(tokens, config(word_pred=word_pred), VOCAB, torch.Generator().manual_seed(seed))
    assert int(masked.predict_mask.sum()) == max(1, round(word_pred * int(eligible.sum())))
    assert not (masked.predict_mask & ~eligible).any()  # specials and padding are never predicted
    assert torch.equal(masked.targets, tokens[masked.predict_mask])
    assert torch.equal(masked.inputs[~masked.predict_mask], tokens[~masked.predict_mask])
    replaced = masked.inputs[masked.predict_mask]
    assert ((replaced == MASK_ID) | (replaced == masked.targets) | (replaced >= NUM_SPECIAL)).all()
    assert (replaced < VOCAB).all()


@settings(max_examples=30, deadline=None)
@given(tokens=token_batches, seed=st.integers(0, 2**31 - 1))
def test_masking_is_a_function_of_the_generator_state(tokens: torch.Tensor, seed: int) -> None:
    tokens[0, 0] = NUM_SPECIAL + 1
    a = mask_tokens(tokens, config(), VOCAB, torch.Generator().manual_seed(seed))
    b = mask_tokens(tokens, config(), VOCAB, torch.Generator().manual_seed(seed))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.predict_mask, b.predict_mask)


def test_mask_keep_random_proportions() -> None:
    tokens = torch.randint(NUM_SPECIAL, VOCAB, (64, 256), generator=torch.Generator().manual_seed(0))
    masked = mask_tokens(tokens, config(), VOCAB, torch.Generator().manual_seed(1))
    replaced, targets = masked.inputs[masked.predict_mask], masked.targets
    n = len(targets)
    share_mask = float((replaced == MASK_ID).float().mean())
    share_same = float((replaced == targets).float().mean())  # keep, plus random draws equal to the target
    assert abs(share_mask - 0.8) < 4 * math.sqrt(0.16 / n)
    assert abs(share_same - (0.1 + 0.1 / (VOCAB - NUM_SPECIAL))) < 4 * math.sqrt(0.09 / n)
    only_mask = mask_tokens(tokens, config(word_mask_keep_rand=(1.0, 0.0, 0.0)), VOCAB, torch.Generator())
    assert (only_mask.inputs[only_mask.predict_mask] == MASK_ID).all()


def test_frequency_smoothing_prefers_rare_tokens() -> None:
    counts = torch.zeros(VOCAB, dtype=torch.long)
    counts[10], counts[11] = 10_000, 10  # 10 is 1000x more frequent than 11
    weights = token_weights_from_counts(counts, sample_alpha=0.5)
    assert weights[:NUM_SPECIAL].eq(0).all() and weights[12] == 0  # specials and unseen tokens
    tokens = torch.tensor([[10] * 100 + [11] * 100])
    picked = torch.zeros(2)
    for seed in range(20):
        masked = mask_tokens(tokens, config(sample_alpha=0.5), VOCAB, torch.Generator().manual_seed(seed), weights)
        picked += torch.stack([(masked.targets == 10).sum(), (masked.targets == 11).sum()])
    assert picked[1] > 5 * picked[0]  # weights differ 31.6x; without replacement the ratio shrinks


@settings(max_examples=40, deadline=None)
@given(src_lengths=st.lists(st.integers(1, 9), min_size=1, max_size=5), data=st.data())
def test_tlm_concatenation_restarts_positions_and_switches_language(src_lengths: list[int],
                                                                   data: st.DataObject) -> None:
    tgt_lengths = data.draw(st.lists(st.integers(1, 9), min_size=len(src_lengths), max_size=len(src_lengths)))
    src = torch.full((len(src_lengths), max(src_lengths)), PAD_ID)
    tgt = torch.full((len(tgt_lengths), max(tgt_lengths)), PAD_ID)
    for i, (s, t) in enumerate(zip(src_lengths, tgt_lengths, strict=True)):
        src[i, :s] = torch.arange(s) + 10
        tgt[i, :t] = torch.arange(t) + 20
    tokens, langs, positions = concat_pairs(PairBatch(src_lang_id=1, tgt_lang_id=2, src=src, tgt=tgt))
    for i, (s, t) in enumerate(zip(src_lengths, tgt_lengths, strict=True)):
        expected = [EOS_ID, *range(10, 10 + s), EOS_ID, EOS_ID, *range(20, 20 + t), EOS_ID]
        assert tokens[i, : s + t + 4].tolist() == expected
        assert (tokens[i, s + t + 4:] == PAD_ID).all()
        assert positions[i, : s + t + 4].tolist() == [*range(s + 2), *range(t + 2)]
        assert langs[i, : s + 2].eq(1).all() and langs[i, s + 2: s + t + 4].eq(2).all()


@settings(max_examples=100, deadline=None)
@given(sizes=st.dictionaries(st.text("abcdefgh", min_size=2, max_size=3), st.integers(1, 10**9), min_size=1,
                             max_size=8),
       alpha=st.floats(0.05, 1.0))
def test_sampling_q_is_p_to_the_alpha_normalized(sizes: dict[str, int], alpha: float) -> None:
    table = sampling_probabilities({k: float(v) for k, v in sizes.items()}, alpha)
    assert math.isclose(sum(p for p, _ in table.values()), 1.0, rel_tol=1e-9)
    assert math.isclose(sum(q for _, q in table.values()), 1.0, rel_tol=1e-9)
    keys = sorted(table, key=lambda k: sizes[k])
    for small, large in zip(keys, keys[1:]):
        p_small, q_small = table[small]
        p_large, q_large = table[large]
        assert q_small <= q_large  # order kept
        assert math.isclose(q_large / q_small, (p_large / p_small) ** alpha, rel_tol=1e-6)
        assert q_small / q_large >= p_small / p_large - 1e-12  # small languages are upsampled
    if alpha == 1.0:
        assert all(math.isclose(p, q) for p, q in table.values())
