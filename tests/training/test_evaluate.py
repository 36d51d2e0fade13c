"""Retrieval: the nearest-neighbour rule, the held-out bitext it reads, and the end-to-end score."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from tests.training.xlm_corpus import sentences
from tests.training.xlm_runs import tiny_run
from xlmforge.schemas.shards import EOS_ID
from xlmforge.training.config import ModelConfig
from xlmforge.training.evaluate import (
    nearest_neighbour_accuracy,
    parallel_sentences,
    retrieval_accuracy,
    retrieval_from_checkpoint,
    sentence_embeddings_by_layer,
)
from xlmforge.training.loop import train
from xlmforge.training.model import XLM


def test_nearest_neighbour_accuracy_counts_aligned_hits() -> None:
    keys = torch.eye(4)
    queries = torch.stack([keys[0] * 3, keys[1], keys[3], keys[2]])  # two aligned, two swapped
    assert nearest_neighbour_accuracy(queries, keys) == 0.5
    assert nearest_neighbour_accuracy(keys, keys) == 1.0


def test_parallel_split_is_read_and_oriented_against_english(corpus: Path) -> None:
    pairs = parallel_sentences(str(corpus), split="test")
    assert sorted(pairs) == ["de", "fr"]
    sp = spm.SentencePieceProcessor(model_file=str(corpus.parent / "spm.model"))
    german, english = pairs["de"]  # stored as de-en
    french, english_too = pairs["fr"]  # stored as en-fr
    assert len(german) == len(english) == len(french) == 18
    assert sp.decode(german[0].tolist()) == sentences("de")[198]
    assert sp.decode(english[0].tolist()) == sp.decode(english_too[0].tolist()) == sentences("en")[198]
    assert sp.decode(french[-1].tolist()) == sentences("fr")[215]


def test_identical_inputs_retrieve_perfectly(corpus: Path) -> None:
    torch.manual_seed(0)
    model = XLM(ModelConfig(preset="tiny", vocab_size=128, num_langs=3, use_lang_emb=False)).eval()
    english = parallel_sentences(str(corpus), split="test")["de"][1]
    scores = retrieval_accuracy(model, {"de": (english, english)}, ["de", "en", "fr"], layer=1)
    assert (scores["de"].to_pivot, scores["de"].from_pivot, scores["de"].num_pairs) == (1.0, 1.0, 18)


@pytest.mark.parametrize("causal", [False, True])
def test_every_layer_from_one_pass_equals_encoding_to_that_layer(corpus: Path, causal: bool) -> None:
    torch.manual_seed(0)
    model = XLM(ModelConfig(preset="tiny", vocab_size=128, num_langs=3)).eval()
    sentences_de = parallel_sentences(str(corpus), split="test")["de"][0][:5]
    by_layer = sentence_embeddings_by_layer(model, sentences_de, 0, [0, 1, 2], batch_size=2, causal=causal)
    for layer in (0, 1, 2):
        for i, ids in enumerate(sentences_de):
            tokens = torch.tensor([[EOS_ID, *ids.tolist(), EOS_ID]])
            hidden = model.encode(tokens, torch.zeros_like(tokens), causal=causal, num_layers=layer)
            torch.testing.assert_close(by_layer[layer][i], hidden[0].mean(0))


def test_retrieval_from_a_checkpoint(corpus: Path, tmp_path: Path) -> None:
    checkpoint = train(tiny_run(corpus, tmp_path, train={"max_steps": 1})).checkpoint
    scores = retrieval_from_checkpoint(checkpoint, str(corpus), layer=2)
    assert set(scores) == {"de", "fr"}
    assert all(0.0 <= s.to_pivot <= 1.0 and 0.0 <= s.from_pivot <= 1.0 for s in scores.values())
