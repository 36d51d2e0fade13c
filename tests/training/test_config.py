from __future__ import annotations

import re
from pathlib import Path

import pytest

from xlmforge.core.config import ConfigError
from xlmforge.training.config import DataConfig, ModelConfig, ObjectivesConfig, RunConfig, load_run_config

YAML = """
model: {preset: small, dropout: 0.2}
data: {manifest: out/manifest.json, tokens_per_batch: 4096, alpha: 0.3}
objectives: {mlm_steps: "en,fr,en-fr", clm_steps: [en]}
optim: {lr: 1e-4, betas: [0.9, 0.999], schedule: inverse_sqrt, optimizer: adam}
train: {max_steps: 10}
"""

TOML = """
[model]
preset = "tiny"
[data]
manifest = "m.json"
[objectives]
mlm_steps = ["en", "en-de"]
"""


def test_yaml_and_toml_load_into_typed_configs(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(YAML)
    cfg = load_run_config(tmp_path / "run.yaml")
    assert cfg.model.num_layers == 6 and cfg.model.dim == 512 and cfg.model.dropout == 0.2
    assert cfg.objectives.mlm_steps == ("en", "fr", "en-fr") and cfg.objectives.clm_steps == ("en",)
    assert cfg.optim.lr == 1e-4 and cfg.optim.betas == (0.9, 0.999) and cfg.data.alpha == 0.3
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    (tmp_path / "run.toml").write_text(TOML)
    toml_cfg = load_run_config(tmp_path / "run.toml")
    assert toml_cfg.model.dim == 64 and toml_cfg.objectives.mlm_steps == ("en", "en-de")


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("model", {"preset": "huge"}, "model.preset"),
        ("model", {"dims": 3}, "model.dims: unknown key (did you mean 'dim'?)"),
        ("model", {"dim": 100, "num_heads": 3}, "model.dim"),
        ("data", {"on_corrupt": "ignore"}, "data.on_corrupt"),
        ("data", {"tokens_per_batch": 100}, "data.tokens_per_batch"),
        ("data", {"num_workers": "two"}, "data.num_workers"),
        ("objectives", {"mlm_steps": ["EN"]}, "objectives.mlm_steps"),
        ("objectives", {"clm_steps": ["en-fr"]}, "objectives.clm_steps"),
        ("objectives", {"word_mask_keep_rand": [0.5, 0.5, 0.5]}, "objectives.word_mask_keep_rand"),
        ("optim", {"schedule": "step"}, "optim.schedule"),
        ("train", {"device": "tpu"}, "train.device"),
    ],
)
def test_bad_values_name_the_field(section: str, values: dict, message: str) -> None:
    data = {"model": {"preset": "tiny"}, "data": {"manifest": "m.json"}, "objectives": {"mlm_steps": ["en"]}}
    data[section] = data.get(section, {}) | values
    with pytest.raises(ConfigError, match=re.escape(message)):
        RunConfig.from_dict(data)


def test_tokens_per_batch_must_hold_one_sequence() -> None:
    with pytest.raises(ConfigError, match="tokens_per_batch.*one sequence"):
        DataConfig(manifest="m.json", seq_len=256, tokens_per_batch=255)
    with pytest.raises(ConfigError, match="tokens_per_batch"):  # a TLM pair of 2 x 100 + 4 tokens
        DataConfig(manifest="m.json", seq_len=64, max_sentence_len=100, tokens_per_batch=128)
    assert DataConfig(manifest="m.json", seq_len=256, tokens_per_batch=256).tokens_per_batch == 256


def test_presets_fill_unset_sizes_only() -> None:
    assert (ModelConfig(preset="base").num_layers, ModelConfig(preset="base").dim) == (12, 768)
    assert ModelConfig(preset="small", num_layers=3).num_layers == 3
    assert ModelConfig(preset="tiny").hidden_dim == 4 * 64
    with pytest.raises(ConfigError, match="at least one of mlm_steps, clm_steps"):
        ObjectivesConfig()
