"""The `end-to-end` flow: corpus and shards, pretraining, evaluation and export, one after another.

Every step is cached by content, so a rerun with nothing changed does no work, and a rerun after
adding a language rebuilds only that language's corpus, then the shards, and trains a new run (its
directory is named after the manifest's sha256). With `continue_training` (and vocab_policy=keep) that
new run starts from the weights of the previous manifest's newest checkpoint instead of a random
initialisation (train.init_from, see training/warm_start.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

import yaml
from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from xlmforge.core import storage
from xlmforge.flows.corpus import CorpusBuild, VocabPolicy, build_corpus
from xlmforge.flows.layout import OutputLayout
from xlmforge.flows.model import Evaluation, evaluate, export
from xlmforge.flows.pretrain import LaunchOptions, TrainingRun, newest_checkpoint, pretrain


class EndToEnd(BaseModel):
    corpus: CorpusBuild
    training: TrainingRun
    evaluation: Evaluation
    export_dir: str


@flow(name="end-to-end")
def end_to_end(
    corpus_config: str,
    out_dir: str,
    run_config: str,
    shards_config: str | None = None,
    vocab_policy: VocabPolicy = "retrain",
    pipeline_args: list[str] | None = None,
    launch: LaunchOptions = LaunchOptions(),
    max_steps: Annotated[int, Field(ge=1)] | None = None,
    time_limit_minutes: Annotated[float, Field(gt=0)] | None = None,
    eval_split: Literal["valid", "test"] = "test",
    pivot: str = "eng",
    continue_training: bool = False,
) -> EndToEnd:
    """Build the corpus and shards, pretrain, evaluate and export, all under OUT_DIR. `continue_training`:
    when the manifest changed (languages added with vocab_policy=keep), the new run starts from the
    previous run's newest checkpoint."""
    check_continue_training(vocab_policy, continue_training)
    layout = OutputLayout.of(out_dir)
    previous = storage.file_digest(layout.manifest) if continue_training and storage.exists(layout.manifest) else None
    corpus = build_corpus(corpus_config, layout.root, shards_config, vocab_policy, pipeline_args)
    init_from = warm_start_checkpoint(layout, previous, corpus.manifest_sha256) if continue_training else None
    if continue_training:
        get_run_logger().info("continue_training: %s", f"the run starts from {init_from}" if init_from else
                              "no earlier checkpoint to start from (first build, or no run of the previous manifest)")
    training = pretrain(run_config, corpus.manifest, layout.run(corpus.manifest_sha256), max_steps, launch,
                        time_limit_minutes, init_from)  # fmt: skip
    eval_path = storage.join(layout.eval, f"{corpus.manifest_sha256[:12]}-step{training.step}-{eval_split}.json")
    evaluation = evaluate(training.checkpoint, corpus.manifest, eval_split, pivot, out_path=eval_path)
    export_dir = export(training.checkpoint, layout.export)
    get_run_logger().info("done: manifest %s, checkpoint %s, evaluation %s, model %s", corpus.manifest,
                          training.checkpoint, evaluation.path, export_dir)  # fmt: skip
    return EndToEnd(corpus=corpus, training=training, evaluation=evaluation, export_dir=export_dir)


def check_continue_training(vocab_policy: VocabPolicy, continue_training: bool) -> None:
    """Continued training needs the vocabulary kept: a retrained one gives the tokens other ids."""
    if continue_training and vocab_policy != "keep":
        raise ValueError("continue_training needs vocab_policy='keep': a retrained vocabulary gives the tokens "
                         "other ids, so the previous run's weights do not fit")


def warm_start_checkpoint(layout: OutputLayout, previous_manifest: str | None, manifest: str) -> str | None:
    """The checkpoint the run of `manifest` (a sha256) starts from: the one it started from when it exists
    already (a rerun keeps its start, so its cache key), else the previous manifest's newest checkpoint."""
    run_config = storage.join(layout.run(manifest), "run.yaml")
    if storage.exists(run_config):
        return (yaml.safe_load(storage.read_bytes(run_config)).get("train") or {}).get("init_from")
    if previous_manifest is None or previous_manifest == manifest:
        return None
    return newest_checkpoint(layout.run(previous_manifest))
