"""Export to transformers: same logits as our model (causal for a CLM model), and a tokenizer that
matches SentencePiece."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from transformers import AutoTokenizer, XLMWithLMHeadModel

from tests.training.xlm_corpus import train_sentencepiece
from tests.training.xlm_runs import tiny_run
from xlmforge.schemas.shards import EOS_ID, PAD_ID
from xlmforge.training.checkpoint import load_model
from xlmforge.training.config import ObjectivesConfig
from xlmforge.training.export import export_to_hf, exports_causal, save_hf_tokenizer
from xlmforge.training.loop import train
from xlmforge.training.objectives import PairBatch, concat_pairs


@pytest.fixture(scope="module")
def exported(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run = tmp_path_factory.mktemp("run")
    checkpoint = train(tiny_run(corpus, run, train={"max_steps": 2})).checkpoint
    return Path(checkpoint), Path(export_to_hf(checkpoint, run / "hf"))


def test_transformers_model_gives_the_same_logits(exported: tuple[Path, Path]) -> None:
    checkpoint, out_dir = exported
    assert AutoTokenizer.from_pretrained(out_dir).mask_token_id == 4
    ours, languages = load_model(checkpoint)
    theirs = XLMWithLMHeadModel.from_pretrained(out_dir).eval()
    assert not theirs.config.causal  # trained with MLM, TLM and CLM
    assert theirs.config.lang2id == {lang: i for i, lang in enumerate(languages)}
    assert ours.lm_head.bias.abs().sum() > 0  # trained, so the test covers the output bias too
    generator = torch.Generator().manual_seed(0)
    src = torch.randint(5, 100, (3, 9), generator=generator)
    tgt = torch.randint(5, 100, (3, 7), generator=generator)
    src[1, 5:], tgt[2, 3:] = PAD_ID, PAD_ID
    tokens, langs, positions = concat_pairs(PairBatch(0, 2, src, tgt))  # padding, two languages, restarts
    real = tokens != PAD_ID
    with torch.no_grad():
        our_logits = ours(tokens, langs, real, positions=positions, padding_mask=real)
        hf_logits = theirs(input_ids=tokens, langs=langs, position_ids=positions, attention_mask=real.long()).logits
    assert (our_logits - hf_logits[real]).abs().max() <= 1e-4


@pytest.fixture(scope="module")
def exported_clm(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run = tmp_path_factory.mktemp("clm_run")
    cfg = tiny_run(corpus, run, objectives={"mlm_steps": (), "clm_steps": ("en", "fr")}, train={"max_steps": 2})
    checkpoint = train(cfg).checkpoint
    return Path(checkpoint), Path(export_to_hf(checkpoint, run / "hf"))


def _hf_logits(model: XLMWithLMHeadModel, tokens: torch.Tensor, langs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=tokens, langs=langs, attention_mask=(tokens != PAD_ID).long()).logits


def test_clm_model_exports_causal_with_the_same_logits(exported_clm: tuple[Path, Path]) -> None:
    checkpoint, out_dir = exported_clm
    ours, _ = load_model(checkpoint)
    theirs = XLMWithLMHeadModel.from_pretrained(out_dir).eval()
    assert theirs.config.causal
    assert ours.lm_head.bias.abs().sum() > 0
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(5, 100, (3, 12), generator=generator)
    tokens[1, 8:] = PAD_ID  # right padding
    tokens[2, :3] = PAD_ID  # left padding: transformers' causal mask does not hide it, nor does ours
    langs = torch.tensor([[0], [1], [1]]).expand_as(tokens)
    real = tokens != PAD_ID
    with torch.no_grad():
        our_logits = ours(tokens, langs, real, padding_mask=real, causal=True)  # (N, V)
    hf_logits = _hf_logits(theirs, tokens, langs)
    assert torch.allclose(our_logits, hf_logits[real], atol=1e-5)

    # Changing later tokens leaves earlier logits alone only when the export attends causally.
    later_changed = tokens.clone()
    later_changed[0, 6:] = 7
    assert torch.allclose(_hf_logits(theirs, later_changed, langs)[0, :6], hf_logits[0, :6], atol=1e-5)
    bidirectional = XLMWithLMHeadModel.from_pretrained(out_dir, causal=False).eval()
    both_ways = _hf_logits(bidirectional, tokens, langs)
    assert not torch.allclose(both_ways[0, 0], _hf_logits(bidirectional, later_changed, langs)[0, 0], atol=1e-5)
    assert not torch.allclose(our_logits, both_ways[real], atol=1e-5)


def test_only_a_clm_only_model_exports_causal(caplog: pytest.LogCaptureFixture) -> None:
    assert exports_causal(ObjectivesConfig(clm_steps=("en", "fr")))
    assert not exports_causal(ObjectivesConfig(mlm_steps=("en", "en-fr")))
    with caplog.at_level(logging.INFO, logger="xlmforge.training.export"):
        assert not exports_causal(ObjectivesConfig(mlm_steps=("en",), clm_steps=("en",)))
    assert "exporting causal=False" in caplog.text


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_exported_tokenizer_matches_sentencepiece(tmp_path: Path, model_type: str) -> None:
    out_dir = tmp_path / "hf"
    out_dir.mkdir()
    save_hf_tokenizer(train_sentencepiece(model_type=model_type), out_dir)
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    sp = spm.SentencePieceProcessor(model_file=str(out_dir / "spm.model"))
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.mask_token_id) == (PAD_ID, EOS_ID, 4)
    texts = ["the cat eats a red apple.", " le vieil homme  achète un vélo vert. ", "Das große Haus", "xyz ✓"]
    for text in texts:
        assert tokenizer(text)["input_ids"] == [EOS_ID, *sp.encode(text), EOS_ID], text
    assert tokenizer.decode(tokenizer("der alte Mann")["input_ids"], skip_special_tokens=True) == "der alte Mann"
