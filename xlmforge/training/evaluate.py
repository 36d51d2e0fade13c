"""Evaluation: validation perplexity per objective and language, and cross-lingual sentence retrieval
(the XTREME Tatoeba task: mean-pooled hidden states, cosine nearest neighbour, both directions)."""

from __future__ import annotations

import dataclasses
import math
import posixpath
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from xlmforge.schemas.shards import EOS_ID, PAD_ID
from xlmforge.training.checkpoint import load_model
from xlmforge.training.config import ObjectivesConfig
from xlmforge.training.data import valid_batches
from xlmforge.training.model import XLM
from xlmforge.training.objectives import objective_loss
from xlmforge.training.plan import DataPlan, load_manifest
from xlmforge.training.streams import PairItems, ShardReader, ShardSource, items_once


@torch.no_grad()
def validation_perplexity(
    model: XLM,
    plan: DataPlan,
    objectives: ObjectivesConfig,
    num_batches: int,
    rank: int = 0,
    world_size: int = 1,
    token_weights: torch.Tensor | None = None,
) -> dict[str, float]:
    """Perplexity on the first `num_batches` valid batches of every task, keyed "objective/lang".

    Batches are shared out between ranks and the sums all-reduced; masking uses a fixed generator per
    task, so the numbers are comparable between evaluations.
    """
    was_training = model.training
    model.eval()
    results = {}
    for task in plan.tasks:
        if not task.valid:
            continue
        generator = torch.Generator().manual_seed(zlib.crc32(task.key.encode()))
        sums = torch.zeros(2, dtype=torch.float64, device=next(model.parameters()).device)  # loss sum, batches
        for task_batch in valid_batches(plan, task, rank, world_size, num_batches):
            loss = objective_loss(task.objective, model, task_batch.batch, objectives, generator, token_weights)
            sums += torch.stack([loss.double(), torch.ones((), dtype=torch.float64, device=sums.device)])
        if world_size > 1:
            dist.all_reduce(sums)
        if sums[1] > 0:
            results[f"{task.objective}/{task.lang}"] = math.exp(min(float(sums[0] / sums[1]), 100.0))
    model.train(was_training)
    return results


@dataclasses.dataclass(frozen=True)
class RetrievalScore:
    """Tatoeba-style accuracy of one language against the pivot (English)."""

    lang: str
    num_pairs: int
    to_pivot: float  # X -> English
    from_pivot: float  # English -> X


@torch.no_grad()
def sentence_embeddings_by_layer(model: XLM, sentences: list[np.ndarray], lang_id: int, layers: Sequence[int],
                                 batch_size: int = 64, causal: bool = False) -> dict[int, torch.Tensor]:
    """layer -> (N, D) mean over the tokens of `</s> sentence </s>` of the hidden states after that many
    blocks (0: the embeddings), all from one forward pass (`causal`: with a CLM model's attention)."""
    model.eval()
    device = next(model.parameters()).device
    hidden: dict[int, torch.Tensor] = {}
    modules = {layer: model.emb_dropout if layer == 0 else model.blocks[layer - 1] for layer in layers}
    hooks = [module.register_forward_hook(lambda _module, _args, out, layer=layer: hidden.__setitem__(layer, out))
             for layer, module in modules.items()]  # fmt: skip
    pooled: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))  # batches of similar lengths pad little
    try:
        for start in range(0, len(sentences), batch_size):
            chunk = [sentences[i] for i in order[start:start + batch_size]]
            tokens = torch.full((len(chunk), max(len(s) for s in chunk) + 2), PAD_ID, dtype=torch.long)
            for i, sentence in enumerate(chunk):
                tokens[i, : len(sentence) + 2] = torch.tensor([EOS_ID, *sentence.tolist(), EOS_ID])
            tokens = tokens.to(device)
            mask = tokens != PAD_ID
            model.encode(tokens, torch.full_like(tokens, lang_id), padding_mask=mask, causal=causal,
                         num_layers=max(layers))
            keep = mask[..., None].to(hidden[layers[0]].dtype)
            for layer in layers:
                pooled[layer].append((hidden[layer] * keep).sum(1) / mask.sum(1, keepdim=True))
    finally:
        for hook in hooks:
            hook.remove()
    unsorted = torch.empty(len(order), dtype=torch.long)
    unsorted[torch.tensor(order)] = torch.arange(len(order))
    return {layer: torch.cat(chunks).float().cpu()[unsorted] for layer, chunks in pooled.items()}


def sentence_embeddings(model: XLM, sentences: list[np.ndarray], lang_id: int, layer: int | None,
                        batch_size: int = 64, causal: bool = False) -> torch.Tensor:
    """(N, D) mean over the tokens of `</s> sentence </s>` of the hidden states after `layer` blocks (None: all)."""
    layer = len(model.blocks) if layer is None else layer
    return sentence_embeddings_by_layer(model, sentences, lang_id, [layer], batch_size, causal)[layer]


def nearest_neighbour_accuracy(queries: torch.Tensor, keys: torch.Tensor) -> float:
    """Share of queries i whose cosine nearest key is key i."""
    similarity = F.normalize(queries, dim=1) @ F.normalize(keys, dim=1).T  # (N, N)
    return float((similarity.argmax(1) == torch.arange(len(queries))).float().mean())


def retrieval_accuracy(
    model: XLM,
    pairs: dict[str, tuple[list[np.ndarray], list[np.ndarray]]],
    languages: list[str],
    layer: int | None = None,
    pivot: str = "en",
    causal: bool = False,
) -> dict[str, RetrievalScore]:
    """Accuracy X->pivot and pivot->X per language; pairs[x] = (x sentences, aligned pivot sentences)."""
    scores = {}
    for lang, (sentences, pivot_sentences) in sorted(pairs.items()):
        x = sentence_embeddings(model, sentences, languages.index(lang), layer, causal=causal)
        y = sentence_embeddings(model, pivot_sentences, languages.index(pivot), layer, causal=causal)
        scores[lang] = RetrievalScore(lang, len(sentences), nearest_neighbour_accuracy(x, y),
                                      nearest_neighbour_accuracy(y, x))
    return scores


def parallel_sentences(manifest_url: str, split: str = "test", pivot: str = "en", fmt: str = "webdataset",
                       max_len: int = 200) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """The bitext of `split` involving `pivot`, as pairs[x] = (x sentences, aligned pivot sentences)."""
    manifest, base = load_manifest(manifest_url)
    reader = ShardReader(manifest.vocab.size)
    pairs: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for shard in manifest.shards_for(kind="bitext", split=split, fmt=fmt):
        src, tgt = shard.lang.split("-")
        if pivot not in (src, tgt):
            continue
        source = ShardSource(shard.path, posixpath.join(base, shard.path), shard.sha256, shard.format, shard.kind)
        x_side, pivot_side = pairs.setdefault(tgt if src == pivot else src, ([], []))
        for x, y in items_once([source], PairItems(max_len, swap=src == pivot), reader.read_chunks):
            x_side.append(x)
            pivot_side.append(y)
    if not pairs:
        raise ValueError(f"manifest {manifest_url} has no {fmt} bitext of split {split!r} with {pivot!r}")
    return pairs


def retrieval_from_checkpoint(checkpoint: str | Path, manifest_url: str, split: str = "test",
                              layer: int | None = None, pivot: str = "en") -> dict[str, RetrievalScore]:
    """Load a checkpoint and score retrieval on the manifest's held-out bitext."""
    model, languages = load_model(checkpoint)
    return retrieval_accuracy(model, parallel_sentences(manifest_url, split, pivot), languages, layer, pivot)
