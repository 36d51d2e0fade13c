"""The shared vocabulary: a SentencePiece model trained on a temperature-sampled share of every language.

Each language (monolingual segments plus its side of every pair) contributes about
q_lang * num_sample_sentences training sentences, q ∝ p^alpha; a text is in the sample when a seeded
hash of its record id falls under its language's rate, so the sample is the same on any runner. Only
records of the training split are sampled; the same text held out in another language or on the
other side of a pair is only removed later, at encoding (decontamination), so the vocabulary may have
seen such a text once. Training runs once, on the driver, over the sampled sentences the workers wrote.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import sentencepiece as spm

from xlmforge.core import storage
from xlmforge.core.sampling import sampling_rates, uniform_draws
from xlmforge.pipelines.shards.config import VocabConfig
from xlmforge.schemas.shards import SPECIAL_TOKENS

_PIECES_LIMIT = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")
_PIECES_NEEDED = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


def vocab_sample_rates(texts_by_lang: Mapping[str, int], config: VocabConfig) -> dict[str, float]:
    """The share of each language's texts that goes into the vocabulary sample."""
    return sampling_rates(texts_by_lang, config.alpha, config.num_sample_sentences)


def sample_texts(
    batch: pa.RecordBatch,
    columns: Sequence[str],
    langs: Sequence[str],
    ids: pa.Array,
    rates: Mapping[str, float],
    seed: int,
    eligible: np.ndarray,
) -> list[str]:
    """The texts of `batch` in the vocabulary sample: per text column (of language `langs[i]`), the
    `eligible` rows whose seeded draw falls under the language's rate."""
    picked: list[str] = []
    id_values = ids.to_numpy(zero_copy_only=False)
    for column, lang in zip(columns, langs, strict=True):
        chosen = eligible & (uniform_draws(id_values, seed, salt=column.encode()) < rates[lang])
        picked += batch.column(column).filter(pa.array(chosen)).to_pylist()
    return picked


@dataclasses.dataclass(frozen=True)
class TrainedVocab:
    path: str
    sha256: str
    size: int
    num_sentences: int


def train_vocab(sample_paths: Sequence[str], config: VocabConfig, model_path: str) -> TrainedVocab:
    """Train SentencePiece on the sample files (in this order) and write the model to `model_path`.

    ValueError when the sample is empty or too small for the vocabulary size.
    """
    num_sentences = sum(1 for _ in _sample_lines(sample_paths))
    if num_sentences == 0:
        raise ValueError("the vocabulary sample is empty: no training-split text to learn a vocabulary from")
    model = io.BytesIO()
    spm.set_random_generator_seed(config.seed)
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=_sample_lines(sample_paths),
            model_writer=model,
            vocab_size=config.size,
            model_type=config.model_type,
            character_coverage=config.character_coverage,
            byte_fallback=config.byte_fallback,
            pad_id=SPECIAL_TOKENS["<pad>"],
            bos_id=SPECIAL_TOKENS["<s>"],
            eos_id=SPECIAL_TOKENS["</s>"],
            unk_id=SPECIAL_TOKENS["<unk>"],
            user_defined_symbols=["<mask>"],
            normalization_rule_name="identity",  # the corpus build normalized the text already
            input_sentence_size=0,  # the sample is the training set: no second sampling inside SentencePiece
            num_threads=config.num_threads,
            minloglevel=2,
        )
    except RuntimeError as err:
        raise _vocab_error(err, config, num_sentences) from None
    data = model.getvalue()
    processor = spm.SentencePieceProcessor(model_proto=data)
    if (ids := {token: processor.piece_to_id(token) for token in SPECIAL_TOKENS}) != SPECIAL_TOKENS:
        raise RuntimeError(f"SentencePiece gave the special tokens ids {ids}, not the fixed {SPECIAL_TOKENS}")
    storage.write_bytes(model_path, data)
    return TrainedVocab(model_path, hashlib.sha256(data).hexdigest(), processor.get_piece_size(), num_sentences)


def load_vocab_model(path: str) -> bytes:
    """An existing SentencePiece model's bytes; ValueError when it is missing, not a model, or lacks the
    project's special tokens at their fixed ids (it was not trained by this project)."""
    if not storage.exists(path):
        raise ValueError(f"vocab.model: {path} does not exist")
    data = storage.read_bytes(path)
    try:
        processor = spm.SentencePieceProcessor(model_proto=data)
    except RuntimeError as err:
        raise ValueError(f"vocab.model: {path} is not a SentencePiece model: {err}") from None
    found = {token: processor.piece_to_id(token) for token in SPECIAL_TOKENS}
    if found != SPECIAL_TOKENS:
        raise ValueError(f"vocab.model: {path} has the special tokens at {found}, not at {SPECIAL_TOKENS}")
    return data


def keep_vocab(data: bytes, model_path: str) -> TrainedVocab:
    """Write an existing model (from `load_vocab_model`) as this build's vocabulary."""
    storage.write_bytes(model_path, data)
    size = spm.SentencePieceProcessor(model_proto=data).get_piece_size()
    return TrainedVocab(model_path, hashlib.sha256(data).hexdigest(), size, 0)


def _sample_lines(paths: Sequence[str]) -> Iterator[str]:
    for path in paths:
        with storage.open_read(path) as f:
            for line in io.TextIOWrapper(f, encoding="utf-8", newline="\n"):
                yield line.rstrip("\n")


def _vocab_error(err: RuntimeError, config: VocabConfig, num_sentences: int) -> ValueError:
    limit = _PIECES_LIMIT.search(str(err))
    if limit:
        return ValueError(
            f"vocab.size = {config.size} is too large for the vocabulary sample of {num_sentences} sentences: "
            f"SentencePiece ({config.model_type}) can make at most {limit.group(2)} pieces from it; lower "
            "vocab.size, or raise vocab.num_sample_sentences if the corpus has more text"
        )
    needed = _PIECES_NEEDED.search(str(err))
    if needed:
        return ValueError(
            f"vocab.size = {config.size} is too small: the characters of the sample (at character_coverage "
            f"{config.character_coverage}), the special tokens and, with byte_fallback, the 256 byte pieces "
            f"need {needed.group(2)} pieces; raise vocab.size"
        )
    return ValueError(f"SentencePiece training failed on {num_sentences} sampled sentences: {err}")
