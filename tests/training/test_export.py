"""Export to transformers: same logits as our model, and a tokenizer that matches SentencePiece."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from transformers import AutoTokenizer, XLMWithLMHeadModel

from tests.training.xlm_corpus import train_sentencepiece
from tests.training.xlm_runs import tiny_run
from xlmforge.schemas.shards import EOS_ID, PAD_ID
from xlmforge.training.checkpoint import load_model
from xlmforge.training.export import export_to_hf, save_hf_tokenizer
from xlmforge.training.loop import train
from xlmforge.training.objectives import PairBatch, concat_pairs


@pytest.fixture(scope="module")
def exported(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run = tmp_path_factory.mktemp("run")
    checkpoint = train(tiny_run(corpus, run, train={"max_steps": 2})).checkpoint
    return Path(checkpoint), export_to_hf(checkpoint, run / "hf")


def test_transformers_model_gives_the_same_logits(exported: tuple[Path, Path]) -> None:
    checkpoint, out_dir = exported
    assert AutoTokenizer.from_pretrained(out_dir).mask_token_id == 4
    ours, languages = load_model(checkpoint)
    theirs = XLMWithLMHeadModel.from_pretrained(out_dir).eval()
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
