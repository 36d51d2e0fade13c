"""The `finetune` flow: fine-tune a pretrained checkpoint on a labelled task in one language, score it
zero-shot on every language of the evaluation files, export it to transformers.

Fine-tuning is cached by content (the checkpoint's sha256, the training and dev files' digests, the
settings, the training code); scoring and export are cheap and always run.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from pydantic import BaseModel, ConfigDict

from xlmforge.core import storage
from xlmforge.flows import artifacts
from xlmforge.flows.caching import StageOutput, digest, key_from_spec, run_cached, training_code
from xlmforge.flows.model import checkpoint_digest
from xlmforge.training.config import FinetuneConfig

RESULTS_NAME = "zero_shot.json"


class FinetuneSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "finetune"
    key: str
    config: FinetuneConfig


class ZeroShotResult(BaseModel):
    """What `xlmforge finetune` reports and writes to OUT_DIR/zero_shot.json."""

    classifier: str
    pretrained: str
    labels: list[str]
    train_langs: list[str]
    best_epoch: int
    history: list[dict[str, float]]
    scores: dict[str, dict]  # lang -> {num_examples, accuracy, macro_f1, majority}
    zero_shot_average: dict[str, float]  # over the languages not trained on: accuracy, macro_f1, majority
    export_dir: str
    path: str
    reused: bool = False


def finetune_key(cfg: FinetuneConfig) -> str:
    """Everything that decides the fine-tuned weights; the evaluation files do not."""
    for path in (cfg.train, cfg.dev, cfg.vocab, *cfg.eval):
        if path and not Path(path).is_file():
            raise FileNotFoundError(f"{path}: file not found")
    files = [storage.file_digest(path) if path else None for path in (cfg.train, cfg.dev, cfg.vocab)]
    return digest(checkpoint_digest(cfg.checkpoint), files, cfg.to_dict() | {"eval": None}, training_code())


@task(name="finetune", cache_key_fn=key_from_spec)
def finetune_classifier(spec: FinetuneSpec) -> StageOutput:
    from xlmforge.training.finetune import finetune

    started = time.monotonic()
    result = finetune(spec.config)
    return StageOutput(stage="finetune", key=spec.key, path=result.checkpoint, marker=result.checkpoint,
                       marker_sha256=storage.file_digest(result.checkpoint), seconds=time.monotonic() - started,
                       summary={"best_epoch": result.best_epoch, "history": result.history})  # fmt: skip


@task(name="evaluate-zero-shot")
def evaluate_zero_shot(classifier: str, eval_files: tuple[str, ...]) -> dict:
    from xlmforge.training.zero_shot import zero_shot_scores

    return dataclasses.asdict(zero_shot_scores(classifier, eval_files))


@task(name="export-classifier")
def export_classifier(classifier: str, out_dir: str) -> str:
    from xlmforge.training.export import export_to_hf

    return str(export_to_hf(classifier, out_dir))


@flow(name="finetune")
def finetune(config: FinetuneConfig) -> ZeroShotResult:
    """Fine-tune, score zero-shot per language, export; results in OUT_DIR/zero_shot.json and as artifacts."""
    config = config.replace(checkpoint=str(Path(config.checkpoint).absolute()),
                            out_dir=str(Path(config.out_dir).absolute()))  # fmt: skip
    output, reused = run_cached(finetune_classifier, spec=FinetuneSpec(key=finetune_key(config), config=config))
    scores = evaluate_zero_shot(output.path, config.eval)
    export_dir = export_classifier(output.path, str(Path(config.out_dir) / "hf"))
    result = ZeroShotResult(
        classifier=output.path, pretrained=config.checkpoint, labels=scores["labels"],
        train_langs=scores["train_langs"], best_epoch=output.summary["best_epoch"], history=output.summary["history"],
        scores=scores["by_lang"], zero_shot_average=scores["transfer_average"], export_dir=export_dir,
        path=str(Path(config.out_dir) / RESULTS_NAME), reused=reused,
    )  # fmt: skip
    storage.write_bytes(result.path, result.model_dump_json(indent=2).encode())
    artifacts.publish_zero_shot(result.scores, result.train_langs, result.zero_shot_average, result.classifier)
    logger = get_run_logger()
    for lang, score in result.scores.items():
        logger.info("%s: accuracy %.4f, macro-F1 %.4f (majority %.4f, %d examples)", lang, score["accuracy"],
                    score["macro_f1"], score["majority"], score["num_examples"])  # fmt: skip
    logger.info("zero-shot results: %s", result.path)
    return result
