"""The shard build configuration: vocabulary, splits, shard files and the sampling table.

Defaults suit the demo corpus (a few thousand segments per language). Real multilingual runs use
vocabularies of 95k (XLM, 15 languages) to 250k pieces (XLM-R, 100 languages), samples of tens of
millions of sentences, and shards of 64-512 MB.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ByteSize, Field, field_validator

from xlmforge.core.config import Section, load_config
from xlmforge.core.languages import languages, unknown_language_message

Alpha = Annotated[float, Field(ge=0.0, le=1.0)]


def _check_key(key: str) -> str:
    """A language code, or a pair of them as "src-tgt"."""
    codes = key.split("-")
    if len(codes) > 2 or (len(codes) == 2 and codes[0] == codes[1]):
        raise ValueError(f"{key!r}: expected a language code or a pair of two different codes as 'src-tgt'")
    for code in codes:
        if code not in languages():
            raise ValueError(unknown_language_message(code))
    return key


class VocabConfig(Section):
    """The SentencePiece model trained on a temperature-sampled share of every language."""

    size: int = Field(default=8000, ge=64)  # pieces, special tokens included
    model_type: Literal["bpe", "unigram"] = "bpe"
    num_sample_sentences: int = Field(default=200_000, ge=1)  # sentences drawn over all languages
    alpha: Alpha = 0.5  # exponent of the per-language sample sizes, q ∝ p^alpha
    character_coverage: Annotated[float, Field(gt=0.9, le=1.0)] = 0.9995
    byte_fallback: bool = True  # characters outside the vocabulary become byte pieces, never <unk>
    # The model file records the trainer's thread count, so it is part of the config, not the machine.
    num_threads: int = Field(default=2, ge=1)
    seed: int = 0
    # An existing SentencePiece model (e.g. an earlier build's vocab/spm.model) to encode with instead
    # of training one: keeps token ids stable when a language is added.
    model: str | None = None


class SplitSizes(Section):
    valid: int = Field(ge=0)
    test: int = Field(ge=0)


class SplitsConfig(Section):
    """Held-out sizes per language (segments) and per pair (pairs); approximate, since a hash decides."""

    valid_size: int = Field(default=100, ge=0)
    test_size: int = Field(default=100, ge=0)
    sizes: dict[str, SplitSizes] = {}  # overrides by language code or "src-tgt" pair
    seed: int = 0

    @field_validator("sizes")
    @classmethod
    def _known_keys(cls, sizes: dict[str, SplitSizes]) -> dict[str, SplitSizes]:
        for key in sizes:
            _check_key(key)
        return sizes

    def sizes_of(self, key: str) -> SplitSizes:
        return self.sizes.get(key, SplitSizes(valid=self.valid_size, test=self.test_size))


class ShardFilesConfig(Section):
    target_bytes: ByteSize = ByteSize(64 * 2**20)  # a shard closes once it holds this many bytes of records
    formats: tuple[Literal["arrow", "webdataset"], ...] = Field(default=("arrow", "webdataset"), min_length=1)
    # Records packed into one WebDataset sample (webdataset costs ~0.2 ms per sample, whatever its size).
    records_per_sample: int = Field(default=256, ge=1)

    @field_validator("formats")
    @classmethod
    def _unique_formats(cls, formats: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(formats)) != len(formats):
            raise ValueError(f"formats repeat: {list(formats)}")
        return formats


class SamplingConfig(Section):
    """The manifest's language sampling table."""

    alpha: Alpha = 0.5  # XLM 0.5, XLM-R 0.3
    unit: Literal["segments", "tokens"] = "tokens"  # what p counts in the train split


class ShardsConfig(Section):
    name: str = "shards"
    languages: tuple[str, ...] = ()  # the languages to build (pairs need both); empty: every language found
    vocab: VocabConfig = VocabConfig()
    splits: SplitsConfig = SplitsConfig()
    shards: ShardFilesConfig = ShardFilesConfig()
    sampling: SamplingConfig = SamplingConfig()

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        for code in codes:
            if code not in languages():
                raise ValueError(unknown_language_message(code))
        return codes


def load_shards_config(path: str) -> ShardsConfig:
    """Read and validate a shard build config file (.yaml, .yml or .toml); ConfigError says what is wrong."""
    return load_config(path, ShardsConfig, "shard build config")
