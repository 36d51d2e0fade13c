"""The shard build config: defaults, file loading and friendly errors."""

import pytest

from xlmforge.core.config import ConfigError
from xlmforge.pipelines.shards.config import ShardsConfig, load_shards_config


def test_defaults_suit_a_small_demo_and_are_frozen():
    config = ShardsConfig()
    assert (config.vocab.size, config.vocab.model_type, config.vocab.alpha) == (8000, "bpe", 0.5)
    assert config.vocab.character_coverage == 0.9995 and config.vocab.byte_fallback
    assert config.shards.formats == ("arrow", "webdataset") and config.sampling.alpha == 0.5
    with pytest.raises(ValueError):
        config.vocab.size = 10


def test_a_yaml_file_loads_with_sizes_in_units_and_per_language_overrides(tmp_path):
    path = tmp_path / "shards.yaml"
    path.write_text(
        "name: demo\nlanguages: [eng, swa]\nvocab: {size: 32000, model_type: unigram, alpha: 0.3}\n"
        "splits: {valid_size: 500, sizes: {swa: {valid: 50, test: 50}, eng-swa: {valid: 10, test: 10}}}\n"
        "shards: {target_bytes: 256MB, formats: [webdataset]}\nsampling: {alpha: 0.7, unit: segments}\n"
    )
    config = load_shards_config(str(path))
    assert config.shards.target_bytes == 256_000_000 and config.shards.formats == ("webdataset",)
    assert config.splits.sizes_of("swa").valid == 50 and config.splits.sizes_of("eng").valid == 500
    assert config.splits.sizes_of("eng-swa").test == 10


@pytest.mark.parametrize(
    "text, message",
    [
        ("vocab: {sise: 100}", r"vocab.sise: unknown key \(did you mean 'size'\?\)"),
        ("languages: [english]", "unknown language code 'english'"),
        ("vocab: {model_type: wordpiece}", "vocab.model_type: Input should be 'bpe' or 'unigram'"),
        ("vocab: {alpha: 1.5}", "vocab.alpha: Input should be less than or equal to 1"),
        ("shards: {formats: [arrow, arrow]}", "formats repeat"),
        ("splits: {sizes: {eng-eng: {valid: 1, test: 1}}}", "a pair of two different codes"),
        ("- a list", "expected a mapping of settings"),
        ("vocab: [", "not valid YAML"),
    ],
)
def test_mistakes_are_named_with_what_is_allowed(tmp_path, text, message):
    path = tmp_path / "shards.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_shards_config(str(path))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_shards_config(str(tmp_path / "nope.yaml"))
