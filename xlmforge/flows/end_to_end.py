"""The `end-to-end` flow: corpus and shards, pretraining, evaluation and export, one after another.

Every step is cached by content, so a rerun with nothing changed does no work, and a rerun after
adding a language rebuilds only that language's corpus, then the shards, and trains a new run (its
directory is named after the manifest's sha256).
"""

from __future__ import annotations

from typing import Annotated, Literal

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from xlmforge.core import storage
from xlmforge.flows.corpus import CorpusBuild, VocabPolicy, build_corpus
from xlmforge.flows.layout import OutputLayout
from xlmforge.flows.model import Evaluation, evaluate, export
from xlmforge.flows.pretrain import LaunchOptions, TrainingRun, pretrain


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
) -> EndToEnd:
    """Build the corpus and shards, pretrain, evaluate and export, all under OUT_DIR."""
    layout = OutputLayout.of(out_dir)
    corpus = build_corpus(corpus_config, layout.root, shards_config, vocab_policy, pipeline_args)
    training = pretrain(run_config, corpus.manifest, layout.run(corpus.manifest_sha256), max_steps, launch,
                        time_limit_minutes)  # fmt: skip
    eval_path = storage.join(layout.eval, f"{corpus.manifest_sha256[:12]}-step{training.step}-{eval_split}.json")
    evaluation = evaluate(training.checkpoint, corpus.manifest, eval_split, pivot, out_path=eval_path)
    export_dir = export(training.checkpoint, layout.export)
    get_run_logger().info("done: manifest %s, checkpoint %s, evaluation %s, model %s", corpus.manifest,
                          training.checkpoint, evaluation.path, export_dir)  # fmt: skip
    return EndToEnd(corpus=corpus, training=training, evaluation=evaluation, export_dir=export_dir)
