"""How well a kept vocabulary fits each language: fertility and unknown / byte-fallback rates.

Used by the `keep` vocabulary policy: before a new language is encoded with a vocabulary trained
without it, measure on a sample of its segments how many pieces a word costs and how much of it
falls back to <unk> or to byte pieces, next to the same numbers for the languages the vocabulary
was trained on.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Sequence

import pyarrow as pa
import sentencepiece as spm

from xlmforge.core import storage

# A language is flagged when it needs this many times the median pieces per word of the others...
FERTILITY_RATIO_LIMIT = 2.0
# ...or when this share of its pieces are <unk> or byte pieces.
UNKNOWN_RATE_LIMIT = 0.01
BYTE_FALLBACK_RATE_LIMIT = 0.05


@dataclasses.dataclass(frozen=True)
class VocabFit:
    lang: str
    num_segments: int  # in the sample
    tokens_per_segment: float
    tokens_per_word: float  # fertility; words are whitespace-separated (unspaced scripts count high)
    unknown_rate: float  # share of pieces that are <unk>
    byte_fallback_rate: float  # share of pieces that are byte pieces (<0x..>)
    new: bool  # the vocabulary was trained without this language
    warning: str = ""


def sample_texts(corpus_dirs: Iterable[str], num_per_lang: int) -> dict[str, list[str]]:
    """Up to `num_per_lang` segments of every language (pair sides included) of the corpus builds."""
    texts: dict[str, list[str]] = {}
    for corpus_dir in corpus_dirs:
        for directory, prefix in (("segments", "lang="), ("bitext", "pair=")):
            pattern = storage.join(corpus_dir, directory, f"{prefix}*", "*.arrow")
            for info in storage.match(pattern, allow_empty=True):
                key = info.path.rsplit(prefix, 1)[-1].split("/")[0]
                columns = ("text",) if prefix == "lang=" else ("src_text", "tgt_text")
                langs = key.split("-")
                if all(len(texts.get(lang, ())) >= num_per_lang for lang in langs):
                    continue
                table = pa.ipc.open_file(pa.BufferReader(storage.read_bytes(info.path))).read_all()
                for lang, column in zip(langs, columns, strict=True):
                    have = texts.setdefault(lang, [])
                    have += table.column(column).slice(0, max(0, num_per_lang - len(have))).to_pylist()
    return texts


def vocab_fit(model: bytes, texts: dict[str, Sequence[str]], new_languages: set[str]) -> list[VocabFit]:
    """Per language, the vocabulary's fertility and fallback rates, new languages flagged when poor."""
    processor = spm.SentencePieceProcessor(model_proto=model)
    fits = [_measure(processor, lang, sample, lang in new_languages) for lang, sample in sorted(texts.items())]
    reference = [f.tokens_per_word for f in fits if not f.new and f.tokens_per_word]
    median = statistics.median(reference) if reference else 0.0
    return [dataclasses.replace(f, warning=_warning(f, median)) if f.new else f for f in fits]


def _measure(processor: spm.SentencePieceProcessor, lang: str, sample: Sequence[str], new: bool) -> VocabFit:
    num_pieces = num_unknown = num_bytes = num_words = 0
    for ids in processor.encode(list(sample)):
        num_pieces += len(ids)
        num_unknown += sum(processor.is_unknown(i) for i in ids)
        num_bytes += sum(processor.is_byte(i) for i in ids)
    num_words = sum(len(text.split()) for text in sample)
    return VocabFit(
        lang, len(sample), num_pieces / max(len(sample), 1), num_pieces / max(num_words, 1),
        num_unknown / max(num_pieces, 1), num_bytes / max(num_pieces, 1), new,
    )  # fmt: skip


def _warning(fit: VocabFit, median_tokens_per_word: float) -> str:
    problems = []
    if median_tokens_per_word and fit.tokens_per_word > FERTILITY_RATIO_LIMIT * median_tokens_per_word:
        problems.append(
            f"{fit.tokens_per_word:.2f} pieces per word, {fit.tokens_per_word / median_tokens_per_word:.1f}x "
            f"the median of the vocabulary's languages"
        )
    if fit.unknown_rate > UNKNOWN_RATE_LIMIT:
        problems.append(f"{fit.unknown_rate:.1%} of its pieces are <unk>")
    if fit.byte_fallback_rate > BYTE_FALLBACK_RATE_LIMIT:
        problems.append(f"{fit.byte_fallback_rate:.1%} of its pieces are byte fallbacks")
    return "; ".join(problems)
