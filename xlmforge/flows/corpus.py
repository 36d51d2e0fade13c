"""The `build-corpus` flow: corpus generations (a monolingual and a parallel Beam job each), then the
vocabulary and the shards (one Beam job pair), with artifacts.

Each Beam job is a task cached under a key made of content digests (see flows/caching.py and
flows/generations.py): a rerun with nothing changed does no work and says so; a config with an added
source builds only that source, deduplicated against the corpus built so far, and recomputes the
vocabulary, shards, sampling table and manifest over everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Literal

from prefect import flow, get_run_logger, task
from pydantic import BaseModel, ConfigDict

from xlmforge.core import storage
from xlmforge.flows import artifacts
from xlmforge.flows.caching import StageOutput, digest, key_from_spec, pipeline_code, retry_on_io, run_cached
from xlmforge.flows.generations import (
    KINDS,
    Generation,
    GenerationRecord,
    Kind,
    generation_config,
    plan_generations,
    read_record,
    write_record,
)
from xlmforge.flows.layout import OutputLayout
from xlmforge.flows.vocab_fit import VocabFit, sample_texts, vocab_fit
from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.ledger import Ledger
from xlmforge.pipelines.corpus.config import CorpusConfig, load_corpus_config
from xlmforge.pipelines.corpus.digest import processing_digest, source_digest
from xlmforge.pipelines.jobs import corpus as run
from xlmforge.pipelines.jobs.shards import build_shards
from xlmforge.pipelines.shards.config import ShardsConfig, load_shards_config
from xlmforge.pipelines.shards.layout import ShardsLayout

log = logging.getLogger(__name__)

VocabPolicy = Literal["keep", "retrain"]
#: Retries for tasks that read or write storage: transient I/O errors only, never bad input.
IO_RETRIES = {"retries": 2, "retry_delay_seconds": [5, 30], "retry_condition_fn": retry_on_io}


class CorpusBuildSpec(BaseModel):
    """One corpus build (one Beam job): a generation's sources of one kind."""

    model_config = ConfigDict(frozen=True)

    stage: Kind
    key: str  # the generation's build key, the pipeline code and the output location
    generation: int
    config: CorpusConfig
    out_dir: str
    base_dirs: list[str]


class ShardsSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Literal["shards"] = "shards"
    key: str  # the shard config, every corpus build's key, the pipeline code and the output location
    corpus_dirs: list[str]
    out_dir: str
    config: ShardsConfig


class CorpusBuild(BaseModel):
    """What the flow did and where everything is."""

    out_dir: str
    manifest: str
    manifest_sha256: str
    reason: str  # the generation plan: first build, nothing changed, new sources, full rebuild and why
    generations: list[Generation]
    built: list[str]  # stages that ran
    reused: list[str]  # stages reused from the cache
    vocab_fit: list[dict] = []


@task(name="digest-sources", **IO_RETRIES)
def digest_sources(config: CorpusConfig) -> dict[str, str]:
    """Content digest of every source (its settings and the bytes of its files)."""
    return {source.name: source_digest(source) for source in config.sources}


@task(name="build-corpus-job", cache_key_fn=key_from_spec, **IO_RETRIES)
def build_corpus_job(spec: CorpusBuildSpec, pipeline_args: list[str]) -> StageOutput:
    """One Beam corpus build into its own directory, deduplicated against the earlier generations."""
    result = run.build_corpus(spec.config, spec.out_dir, pipeline_args, overwrite=True, base_dirs=spec.base_dirs)
    marker = BuildLayout(spec.out_dir).metadata
    summary = {"segments": result.segments_by_lang, "pairs": result.pairs_by_lang, "rejects": result.num_rejects}
    return StageOutput(
        stage=f"{spec.stage} (generation {spec.generation})", key=spec.key, path=spec.out_dir, marker=marker,
        marker_sha256=storage.file_digest(marker), summary=summary, seconds=result.seconds,
    )  # fmt: skip


@task(name="build-shards", cache_key_fn=key_from_spec, **IO_RETRIES)
def build_shards_job(spec: ShardsSpec, pipeline_args: list[str]) -> StageOutput:
    """Vocabulary, encoding and shards over every generation (two Beam jobs), manifest written last."""
    result = build_shards(spec.corpus_dirs, spec.out_dir, spec.config, pipeline_args, overwrite=True)
    marker = ShardsLayout(spec.out_dir).manifest
    sampling = result.manifest.sampling
    summary = {"vocab_size": result.manifest.vocab.size, "languages": sorted(sampling.languages),
               "pairs": sorted(sampling.pairs), "num_shards": len(result.manifest.shards),
               "rejects": result.num_rejects}  # fmt: skip
    return StageOutput(
        stage="shards", key=spec.key, path=spec.out_dir, marker=marker, marker_sha256=storage.file_digest(marker),
        summary=summary, seconds=result.seconds,
    )  # fmt: skip


@task(name="check-vocab-fit", **IO_RETRIES)
def check_vocab_fit(vocab_model: str, corpus_dirs: list[str], new_languages: set[str]) -> list[VocabFit]:
    """Fertility and unknown / byte-fallback rates of the current vocabulary, new languages flagged."""
    fits = vocab_fit(storage.read_bytes(vocab_model), sample_texts(corpus_dirs, 1000), new_languages)
    logger = get_run_logger()
    for fit in fits:
        if fit.new:
            report = logger.warning if fit.warning else logger.info
            report(
                "kept vocabulary on new language %s: %.2f pieces/word, %.2f%% <unk>, %.2f%% byte fallback%s",
                fit.lang, fit.tokens_per_word, 100 * fit.unknown_rate, 100 * fit.byte_fallback_rate,
                f" - poor fit: {fit.warning}; consider vocab_policy=retrain" if fit.warning else "",
            )  # fmt: skip
    artifacts.publish_vocab_fit(fits)
    return fits


@task(name="keep-vocabulary", **IO_RETRIES)
def keep_vocabulary(vocab_model: str, layout: OutputLayout) -> str:
    """A copy of the current vocabulary under a name of its content, outside the shards a rebuild clears."""
    data = storage.read_bytes(vocab_model)
    kept = layout.kept_vocab(hashlib.sha256(data).hexdigest())
    if not storage.exists(kept):
        storage.write_bytes(kept, data)
    get_run_logger().info("vocab_policy=keep: encoding with the existing vocabulary %s", kept)
    return kept


@task(name="record-generations", **IO_RETRIES)
def record_generations(corpus_root: str, record: GenerationRecord) -> list[str]:
    """Write the generation record; delete corpus builds it no longer lists (after a full rebuild)."""
    write_record(corpus_root, record)
    keep = set(record.directories())
    removed = []
    for info in storage.match(storage.join(corpus_root, "*", "corpus.json"), allow_empty=True):
        directory = info.path.rsplit("/", 2)[-2]
        if directory.split("-")[0] in KINDS and directory not in keep:
            storage.delete_tree(storage.join(corpus_root, directory))
            removed.append(directory)
    if removed:
        get_run_logger().info("removed corpus builds no generation uses any more: %s", ", ".join(sorted(removed)))
    return removed


@task(name="publish-corpus-artifacts")
def publish_corpus_artifacts(corpus_root: str, record: GenerationRecord, shards_dir: str, reason: str) -> None:
    """The per-language ledger of every corpus build, and the sampling table of the shards."""
    rows = []
    for generation in record.generations:
        for kind in KINDS:
            if kind in generation.builds:
                path = BuildLayout(storage.join(corpus_root, generation.directory(kind))).ledger
                ledger = Ledger.from_json(json.loads(storage.read_bytes(path)))
                rows += artifacts.ledger_rows(ledger, f"g{generation.number}/{kind}")
    artifacts.publish_ledger(rows, f"Per-language ledger of {len(record.generations)} corpus generation(s); {reason}")
    layout = ShardsLayout(shards_dir)
    report = storage.read_bytes(layout.report).decode()
    artifacts.publish_sampling(artifacts.sampling_markdown(report, layout.chart, layout.manifest, reason))


@flow(name="build-corpus")
def build_corpus(
    corpus_config: str,
    out_dir: str,
    shards_config: str | None = None,
    vocab_policy: VocabPolicy = "retrain",
    pipeline_args: list[str] | None = None,
) -> CorpusBuild:
    """Corpus (monolingual and parallel), vocabulary and shards of a corpus config, into OUT_DIR.

    `pipeline_args` go to Beam unchanged (`--runner FlinkRunner --flink_master=...`); they choose
    where the jobs run, not what they produce, so they are not part of any cache key.
    """
    logger = get_run_logger()
    config = load_corpus_config(corpus_config)
    shards = load_shards_config(shards_config) if shards_config else ShardsConfig()
    layout, args = OutputLayout.of(out_dir), list(pipeline_args or [])
    previous = read_record(layout.corpus)
    plan = plan_generations(config, digest_sources(config), processing_digest(config), previous)
    logger.info("corpus %r: %s", config.name, plan.reason)

    code = pipeline_code()  # outputs of other pipeline code are not reused
    built, reused, corpus_dirs, build_keys, new_dirs = [], [], [], [], []
    for generation in plan.record.generations:
        base_dirs = list(corpus_dirs)  # a generation reads its own sources, deduplicated against the earlier ones
        for kind in (k for k in KINDS if k in generation.builds):
            spec = CorpusBuildSpec(
                stage=kind, key=digest(generation.builds[kind], code, layout.corpus), generation=generation.number,
                config=generation_config(config, generation, kind),
                out_dir=storage.join(layout.corpus, generation.directory(kind)), base_dirs=base_dirs,
            )  # fmt: skip
            build = build_corpus_job.with_options(name=f"build-{kind}")
            output, hit = run_cached(build, spec=spec, pipeline_args=args)
            (reused if hit else built).append(output.stage)
            corpus_dirs.append(spec.out_dir)
            build_keys.append(generation.builds[kind])
            if plan.new is not None and generation.number == plan.new.number:
                new_dirs.append(spec.out_dir)
    record_generations(layout.corpus, plan.record)

    fits = []
    if vocab_policy == "keep" and storage.exists(layout.manifest):
        kept = keep_vocabulary(ShardsLayout(layout.shards).vocab_model, layout)
        shards = shards.model_copy(update={"vocab": shards.vocab.model_copy(update={"model": kept})})
        if plan.new is not None and plan.base:
            new_languages = _languages(new_dirs) - _languages([d for d in corpus_dirs if d not in new_dirs])
            fits = check_vocab_fit(kept, corpus_dirs, new_languages)
    spec = ShardsSpec(
        key=digest("shards", shards.model_dump(mode="json"), build_keys, code, layout.shards),
        corpus_dirs=corpus_dirs, out_dir=layout.shards, config=shards,
    )  # fmt: skip
    output, hit = run_cached(build_shards_job, spec=spec, pipeline_args=args)
    (reused if hit else built).append(output.stage)
    publish_corpus_artifacts(layout.corpus, plan.record, layout.shards, plan.reason)
    if built:
        logger.info("built %s; reused %s", ", ".join(built), ", ".join(reused) or "nothing")
    else:
        logger.info("nothing changed: all %d stages were reused from the cache; no work done", len(reused))
    logger.info("manifest: %s", layout.manifest)
    return CorpusBuild(
        out_dir=layout.root, manifest=layout.manifest, manifest_sha256=output.marker_sha256, reason=plan.reason,
        generations=plan.record.generations, built=built, reused=reused,
        vocab_fit=artifacts.vocab_fit_rows(fits),
    )  # fmt: skip


def _languages(corpus_dirs: list[str]) -> set[str]:
    """Languages (pair sides included) that the corpus builds kept records of."""
    langs: set[str] = set()
    for corpus_dir in corpus_dirs:
        metadata = json.loads(storage.read_bytes(BuildLayout(corpus_dir).metadata))
        langs |= set(metadata.get("segments_by_lang", {}))
        langs |= {lang for pair in metadata.get("pairs_by_lang", {}) for lang in pair.split("-")}
    return langs
