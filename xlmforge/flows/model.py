"""The `evaluate` and `export` flows: score a checkpoint (held-out bitext retrieval, validation
perplexity) and export it to the Hugging Face format. Both are cached by the checkpoint's sha256."""

from __future__ import annotations

import dataclasses
import posixpath
import time
from typing import Annotated, Literal

from prefect import flow, get_run_logger, task
from pydantic import BaseModel, ConfigDict, Field, field_validator

from xlmforge.core import storage
from xlmforge.core.languages import languages, unknown_language_message
from xlmforge.flows import artifacts
from xlmforge.flows.caching import StageOutput, digest, key_from_spec, retry_on_io, run_cached, training_code

IO_RETRIES = {"retries": 2, "retry_delay_seconds": [5, 30], "retry_condition_fn": retry_on_io}


class EvaluateSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "evaluate"
    key: str
    checkpoint: str
    manifest: str
    split: str
    pivot: str
    layer: int | None
    num_valid_batches: int
    out_path: str


class Evaluation(BaseModel):
    checkpoint: str
    split: str
    pivot: str
    retrieval: dict[str, dict]  # lang -> {num_pairs, to_pivot, from_pivot}
    retrieval_note: str = ""  # why there is no retrieval score, if there is none
    perplexity: dict[str, float]  # "objective/lang" -> perplexity on the valid split
    path: str = ""
    reused: bool = False


class ExportSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "export"
    key: str
    checkpoint: str
    out_dir: str


def checkpoint_digest(checkpoint: str) -> str:
    """The checkpoint's sha256, from the digest file written beside it (read, not recomputed)."""
    digest_file = f"{checkpoint}.sha256"
    if not storage.exists(checkpoint):
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    return storage.read_bytes(digest_file).decode().strip() if storage.exists(digest_file) \
        else storage.file_digest(checkpoint)


def validation_perplexity_of(checkpoint: str, manifest: str, num_batches: int) -> dict[str, float]:
    """Perplexity of every objective and language of the checkpoint's run on the manifest's valid split."""
    from xlmforge.training.checkpoint import load_checkpoint, model_config
    from xlmforge.training.config import RunConfig
    from xlmforge.training.data import count_tokens
    from xlmforge.training.evaluate import validation_perplexity
    from xlmforge.training.model import XLM
    from xlmforge.training.objectives import token_weights_from_counts
    from xlmforge.training.plan import build_plan, load_manifest

    tree = load_checkpoint(checkpoint)
    config = RunConfig.from_dict(tree["config"])
    data = config.data.replace(manifest=manifest)
    plan = build_plan(*load_manifest(manifest), data, config.objectives)
    model = XLM(model_config(tree))
    model.load_state_dict(tree["model"])
    alpha = config.objectives.sample_alpha
    weights = token_weights_from_counts(count_tokens(plan), alpha) if alpha > 0 else None
    return validation_perplexity(model.eval(), plan, config.objectives, num_batches, token_weights=weights)


@task(name="evaluate", cache_key_fn=key_from_spec, **IO_RETRIES)
def evaluate_checkpoint(spec: EvaluateSpec) -> StageOutput:
    from xlmforge.training.evaluate import retrieval_from_checkpoint

    started = time.monotonic()
    note = ""
    try:
        scores = retrieval_from_checkpoint(spec.checkpoint, spec.manifest, spec.split, spec.layer, spec.pivot)
        retrieval = {lang: dataclasses.asdict(s) for lang, s in scores.items()}
    except ValueError as err:  # no held-out bitext with the pivot language: nothing to retrieve
        retrieval, note = {}, f"no retrieval score: {err}"
        get_run_logger().warning("%s", note)
    perplexity = validation_perplexity_of(spec.checkpoint, spec.manifest, spec.num_valid_batches)
    result = Evaluation(checkpoint=spec.checkpoint, split=spec.split, pivot=spec.pivot, retrieval=retrieval,
                        retrieval_note=note, perplexity=perplexity, path=spec.out_path)  # fmt: skip
    storage.write_bytes(spec.out_path, result.model_dump_json(indent=2).encode())
    marker_sha256 = storage.file_digest(spec.out_path)
    return StageOutput(stage="evaluate", key=spec.key, path=spec.out_path, marker=spec.out_path,
                       marker_sha256=marker_sha256, seconds=time.monotonic() - started)  # fmt: skip


@task(name="export", cache_key_fn=key_from_spec, **IO_RETRIES)
def export_checkpoint(spec: ExportSpec) -> StageOutput:
    from xlmforge.training.export import MARKER, export_to_hf

    started = time.monotonic()
    out_dir = export_to_hf(spec.checkpoint, spec.out_dir)
    marker = storage.join(out_dir, MARKER)
    return StageOutput(stage="export", key=spec.key, path=out_dir, marker=marker,
                       marker_sha256=storage.file_digest(marker), seconds=time.monotonic() - started)  # fmt: skip


class _Language(BaseModel):
    code: str

    @field_validator("code")
    @classmethod
    def _known(cls, code: str) -> str:
        if code not in languages():
            raise ValueError(unknown_language_message(code))
        return code


@flow(name="evaluate")
def evaluate(
    checkpoint: str,
    manifest: str,
    split: Literal["valid", "test"] = "test",
    pivot: str = "eng",
    layer: Annotated[int, Field(ge=0)] | None = None,
    num_valid_batches: Annotated[int, Field(ge=1)] = 20,
    out_path: str | None = None,
) -> Evaluation:
    """Retrieval accuracy on the held-out bitext against `pivot` (both directions) and validation
    perplexity; results in `out_path` (default: beside the checkpoint) and as artifacts."""
    _Language(code=pivot)
    checkpoint = storage.absolute(checkpoint)
    out_path = out_path or f"{posixpath.splitext(checkpoint)[0]}.eval-{split}.json"
    key = digest(checkpoint_digest(checkpoint), storage.file_digest(manifest), split, pivot, layer, num_valid_batches,
                 training_code(), out_path)  # fmt: skip
    spec = EvaluateSpec(key=key, checkpoint=checkpoint, manifest=manifest, split=split, pivot=pivot, layer=layer,
                        num_valid_batches=num_valid_batches, out_path=out_path)  # fmt: skip
    output, reused = run_cached(evaluate_checkpoint, spec=spec)
    result = Evaluation.model_validate_json(storage.read_bytes(output.path)).model_copy(update={"reused": reused})
    artifacts.publish_evaluation(result.retrieval, result.perplexity, pivot)
    logger = get_run_logger()
    for lang, score in sorted(result.retrieval.items()):
        logger.info("retrieval %s: %s->%s %.3f, %s->%s %.3f (%d pairs)", lang, lang, pivot, score["to_pivot"], pivot,
                    lang, score["from_pivot"], score["num_pairs"])  # fmt: skip
    logger.info("evaluation: %s", output.path)
    return result


@flow(name="export")
def export(checkpoint: str, out_dir: str) -> str:
    """Write the checkpoint as a directory transformers loads (XLMWithLMHeadModel and its tokenizer)."""
    checkpoint, out_dir = storage.absolute(checkpoint), storage.absolute(out_dir)
    key = digest(checkpoint_digest(checkpoint), training_code(), out_dir)
    spec = ExportSpec(key=key, checkpoint=checkpoint, out_dir=out_dir)
    output, _ = run_cached(export_checkpoint, spec=spec)
    artifacts.publish_export(output.path, checkpoint)
    get_run_logger().info("exported to %s", output.path)
    return output.path
