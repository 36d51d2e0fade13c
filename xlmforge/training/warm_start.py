"""A warm start (`train.init_from`): a new run begins with the weights of an earlier run's checkpoint.

Only the weights carry over; the optimizer, the schedule, the loader and the step counter start
afresh. This is how a model continues when languages are added to its corpus: the new manifest is
built with `vocab_policy=keep`, so every token id means what it meant, and the language embeddings
are matched by language code, not by index (languages are numbered in sorted order, so adding `de`
to `en, fr` moves both). A language new to the model starts from the mean of the old languages'
rows: the offset the encoder saw on average, so its tokens arrive where the layers were trained,
without being taken for any one old language (a same-script neighbour would need a relatedness table
and would bias the new language towards it). A language of the checkpoint that the manifest no longer
has is dropped, with a warning.

A vocabulary that keeps the old ids and appends pieces would need the token table grown the same way;
it is refused here like any other vocabulary change.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from xlmforge.training.checkpoint import load_checkpoint
from xlmforge.training.config import ModelConfig

log = logging.getLogger(__name__)

#: Model fields that decide the shape or meaning of the weights; the rest (dropout...) may change.
ARCHITECTURE_FIELDS = ("num_layers", "dim", "num_heads", "max_positions", "sinusoidal_positions", "use_lang_emb")


def read_init_checkpoint(path: str) -> dict[str, Any]:
    """The checkpoint named by train.init_from; a missing file is a ValueError naming the field."""
    try:
        tree = load_checkpoint(path)
    except FileNotFoundError:
        raise ValueError(f"train.init_from: checkpoint not found: {path}") from None
    if tree.get("kind") == "classifier" or "model" not in tree or "languages" not in tree:
        raise ValueError(f"train.init_from: {path} is not a pretraining checkpoint")
    return tree


def check_compatible(tree: dict[str, Any], path: str, cfg: ModelConfig, vocab_sha256: str, vocab_file: str) -> None:
    """Refuse a checkpoint whose vocabulary or architecture differs from this run's."""
    old_vocab = tree["vocab"]["sha256"]
    if old_vocab != vocab_sha256:
        old_manifest = tree["config"]["data"]["manifest"]
        raise ValueError(
            f"train.init_from: {path} was trained with the vocabulary of {old_manifest} (sha256 {old_vocab[:16]}), "
            f"but this run's vocabulary {vocab_file} differs (sha256 {vocab_sha256[:16]}); a warm start needs the "
            "same token ids: build the new manifest with vocab_policy=keep")
    old = ModelConfig.from_dict(tree["config"]["model"])
    differ = [f"{name} {getattr(old, name)} -> {getattr(cfg, name)}" for name in ARCHITECTURE_FIELDS
              if getattr(old, name) != getattr(cfg, name)]  # fmt: skip
    if differ:
        raise ValueError(f"train.init_from: {path} has another architecture than this run's model section "
                         f"({', '.join(differ)}); a warm start copies the weights, so these must be equal")


def language_rows(old_rows: torch.Tensor | None, old_languages: list[str], new_languages: list[str],
                  dim: int) -> torch.Tensor:
    """The (len(new_languages), dim) language embedding table: old rows moved to their language's new
    index, new languages at the mean of the old rows. `old_rows` None: the old model had no language
    embedding (one language), so every language's offset was zero and stays zero."""
    if old_rows is None:
        return torch.zeros(len(new_languages), dim)
    if old_rows.shape != (len(old_languages), dim):
        raise ValueError(f"train.init_from: the checkpoint's language embedding is {tuple(old_rows.shape)}, "
                         f"not one row of {dim} for each of its {len(old_languages)} languages {old_languages}")
    table = old_rows.mean(0).expand(len(new_languages), dim).clone()  # (L_new, D)
    for index, lang in enumerate(new_languages):
        if lang in old_languages:
            table[index] = old_rows[old_languages.index(lang)]
    return table


def warm_start(model: torch.nn.Module, tree: dict[str, Any], languages: list[str]) -> None:
    """Copy the checkpoint's weights into `model` (trained on `languages`, in language-id order)."""
    old_languages = list(tree["languages"])
    state = dict(tree["model"])
    old_rows = state.pop("lang_emb.weight", None)
    if dropped := sorted(set(old_languages) - set(languages)):
        log.warning("warm start: the checkpoint's language(s) %s are not in this run's manifest; their "
                    "language embeddings are dropped", dropped)  # fmt: skip
    if added := sorted(set(languages) - set(old_languages)):
        log.info("warm start: new language(s) %s start from the mean of the old languages' embeddings", added)
    if model.lang_emb is not None:
        state["lang_emb.weight"] = language_rows(old_rows, old_languages, languages, model.cfg.dim)
    elif old_rows is not None:
        log.warning("warm start: this run has one language and no language embedding; the checkpoint's are dropped")
    model.load_state_dict(state)
