"""The vocabulary: temperature-sampled training text and the SentencePiece model trained on it."""

import hashlib

import numpy as np
import pyarrow as pa
import pytest
import sentencepiece as spm

from tests.pipelines.shard_fixtures import sentences
from xlmforge.core.sampling import sampling_probabilities
from xlmforge.pipelines.shards.config import VocabConfig
from xlmforge.pipelines.shards.vocab import sample_texts, train_vocab, vocab_sample_rates
from xlmforge.schemas.shards import SPECIAL_TOKENS


def write_sample(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


@pytest.fixture
def sample_file(tmp_path):
    return write_sample(tmp_path / "sample.txt", [s for lang in ("eng", "deu", "fra") for s in sentences(lang)])


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_model_has_fixed_special_ids_byte_fallback_and_its_hash(tmp_path, sample_file, model_type):
    config = VocabConfig(size=350, model_type=model_type)
    vocab = train_vocab([sample_file], config, str(tmp_path / "vocab" / "spm.model"))
    data = (tmp_path / "vocab" / "spm.model").read_bytes()
    assert vocab.sha256 == hashlib.sha256(data).hexdigest() and vocab.size == 350 and vocab.num_sentences == 648
    processor = spm.SentencePieceProcessor(model_proto=data)
    assert {t: processor.piece_to_id(t) for t in SPECIAL_TOKENS} == SPECIAL_TOKENS
    assert processor.unk_id() == 3 and processor.bos_id() == 1 and processor.eos_id() == 2 and processor.pad_id() == 0
    unseen = "Ωμέγα 東京"  # characters absent from the sample become byte pieces, not <unk>
    assert SPECIAL_TOKENS["<unk>"] not in processor.encode(unseen)
    assert processor.decode(processor.encode(unseen)) == unseen


def test_training_twice_gives_the_same_bytes(tmp_path, sample_file):
    config = VocabConfig(size=350, model_type="unigram")
    first = train_vocab([sample_file], config, str(tmp_path / "a.model"))
    second = train_vocab([sample_file], config, str(tmp_path / "b.model"))
    assert first.sha256 == second.sha256


def test_a_vocabulary_too_large_for_the_sample_is_a_clear_error(tmp_path):
    sample = write_sample(tmp_path / "s.txt", sentences("eng")[:40])
    with pytest.raises(ValueError, match=r"vocab.size = 5000 is too large for the vocabulary sample of 40 sentences"):
        train_vocab([sample], VocabConfig(size=5000), str(tmp_path / "m.model"))
    with pytest.raises(ValueError, match=r"vocab.size = 100 is too small: .* need \d+ pieces"):
        train_vocab([sample], VocabConfig(size=100), str(tmp_path / "m.model"))
    assert not (tmp_path / "m.model").exists()


def test_an_empty_sample_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="vocabulary sample is empty"):
        train_vocab([write_sample(tmp_path / "s.txt", [])], VocabConfig(), str(tmp_path / "m.model"))


def test_each_language_contributes_about_q_times_the_sample_size():
    counts = {"eng": 90_000, "swa": 10_000}
    config = VocabConfig(num_sample_sentences=10_000, alpha=0.5)
    rates = vocab_sample_rates(counts, config)
    q = sampling_probabilities(counts, 0.5)
    picked = {}
    offset = 0
    for lang, n in counts.items():
        ids = pa.array(np.arange(offset, offset + n, dtype=np.uint64))
        batch = pa.record_batch({"text": pa.array([lang] * n)})
        texts = sample_texts(batch, ["text"], [lang], ids, rates, seed=3, eligible=np.ones(n, dtype=bool))
        picked[lang] = len(texts)
        offset += n
    for lang in counts:  # binomial: within 4 standard deviations
        expected = q[lang].q * 10_000
        assert abs(picked[lang] - expected) < 4 * np.sqrt(expected)
    assert picked["swa"] / sum(picked.values()) == pytest.approx(0.25, abs=0.02)  # 10% of the data, 25% of the sample


def test_sampling_is_per_row_deterministic_skips_ineligible_rows_and_both_sides_of_a_pair():
    ids = pa.array(np.arange(1000, dtype=np.uint64))
    batch = pa.record_batch({"src_text": [f"s{i}" for i in range(1000)], "tgt_text": [f"t{i}" for i in range(1000)]})
    eligible = np.arange(1000) % 2 == 0
    rates = {"eng": 0.5, "deu": 1.0}
    first = sample_texts(batch, ["src_text", "tgt_text"], ["eng", "deu"], ids, rates, 0, eligible)
    assert first == sample_texts(batch, ["src_text", "tgt_text"], ["eng", "deu"], ids, rates, 0, eligible)
    src = [t for t in first if t.startswith("s")]
    tgt = [t for t in first if t.startswith("t")]
    assert tgt == [f"t{i}" for i in range(0, 1000, 2)]  # rate 1: every eligible row
    assert 200 < len(src) < 300 and all(int(t[1:]) % 2 == 0 for t in src)
