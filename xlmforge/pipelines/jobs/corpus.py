"""The corpus build as one Beam job: planned inputs in; segments, sentence pairs, rejects and a ledger out.

`BuildCorpus` is the job's composite transform. Three chains share the stages they have in common:

    text      read -> normalize -> identical_dedup -> language_id -> filters -> exact_dedup -> near_dedup -> write
    bitext    bitext/read -> bitext/normalize -> bitext/language_id --------+
    docpairs  docpairs/read -> docpairs/normalize -> docpairs/language_id   +-> pairs/filters
                -> docpairs/align ------------------------------------------+     -> pairs/dedup -> pairs/write

`build_corpus` runs it: plan, run the Beam pipeline on any runner, then check and record the ledger.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections import Counter

import apache_beam as beam
import xxhash

from xlmforge.core import storage
from xlmforge.pipelines.bitext.align_documents import AlignDocumentPairs
from xlmforge.pipelines.bitext.pairs import (
    ApplyBitextFilters,
    DropDuplicatePairs,
    DropRepeatedSources,
    DropRepeatedTargets,
    IdentifyPairLanguages,
    NormalizePairs,
)
from xlmforge.pipelines.bitext.read import ReadDocumentPairs, ReadPairs
from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.ledger import KEPT, Ledger, LedgerError, StageGraph, merge_counts
from xlmforge.pipelines.common.options import pipeline_options
from xlmforge.pipelines.common.parts import Pairs, Part, StageTransform, count_rows
from xlmforge.pipelines.corpus.config import CorpusConfig
from xlmforge.pipelines.corpus.exact_dedup import DropExactDuplicates
from xlmforge.pipelines.corpus.filters import ApplyQualityFilters
from xlmforge.pipelines.corpus.identical_dedup import DropIdenticalCopies
from xlmforge.pipelines.corpus.inputs import Inputs, plan_inputs
from xlmforge.pipelines.corpus.language_id import IdentifyLanguage
from xlmforge.pipelines.corpus.near_dedup import DropNearDuplicates
from xlmforge.pipelines.corpus.normalize import NormalizeSegments
from xlmforge.pipelines.corpus.read import ReadSegments
from xlmforge.pipelines.corpus.write import WriteSegments

log = logging.getLogger(__name__)

BITEXT, DOCPAIRS, PAIRS = "bitext", "docpairs", "pairs"


def _text_stages(config: CorpusConfig, layout: BuildLayout, existing=None) -> list[StageTransform]:
    stages = [NormalizeSegments(config.normalize, layout)]
    if config.identical_dedup.enabled:
        stages.append(DropIdenticalCopies(config.identical_dedup, layout))
    if config.language_id.enabled:
        stages.append(IdentifyLanguage(config.language_id, layout))
    stages.append(ApplyQualityFilters(config.filters, layout))
    # Deduplication after the verdicts: the copy kept is one that passed them.
    if config.exact_dedup.enabled:
        stages.append(DropExactDuplicates(config.exact_dedup, layout, existing=existing))
    if config.near_dedup.enabled:
        stages.append(DropNearDuplicates(config.near_dedup, layout, existing=existing))
    return stages


def _bitext_stages(config: CorpusConfig, layout: BuildLayout) -> list[StageTransform]:
    stages = [NormalizePairs(config.normalize, layout, BITEXT)]
    if config.language_id.enabled:
        stages.append(IdentifyPairLanguages(config.language_id, layout, BITEXT))
    return stages


def _docpair_stages(config: CorpusConfig, layout: BuildLayout) -> list[StageTransform]:
    stages = [NormalizeSegments(config.normalize, layout, DOCPAIRS)]
    if config.language_id.enabled:
        stages.append(IdentifyLanguage(config.language_id, layout, DOCPAIRS))
    languages = {s.name: s.languages for s in config.sources if s.kind == "docpairs"}
    return stages + [AlignDocumentPairs(config.align, layout, languages, DOCPAIRS)]


def _pair_stages(config: CorpusConfig, layout: BuildLayout, existing=None) -> list[StageTransform]:
    stages = [ApplyBitextFilters(config.bitext_filters, layout, PAIRS)]
    if config.pair_dedup.enabled:
        dedup = [DropDuplicatePairs] + (
            [DropRepeatedSources, DropRepeatedTargets] if config.pair_dedup.repeated_sides else []
        )
        stages += [stage(config.pair_dedup, layout, PAIRS, existing) for stage in dedup]
    return stages


@dataclasses.dataclass(frozen=True)
class ExistingParts:
    """The outputs of earlier builds that a build extends: new records are deduplicated against them."""

    segments: list[Part] = dataclasses.field(default_factory=list)
    pairs: list[Part] = dataclasses.field(default_factory=list)


def existing_parts(base_dirs: list[str]) -> ExistingParts:
    """The segment and pair files of complete corpus builds; ValueError naming a directory that is not one."""
    segments, pairs = [], []
    for number, base in enumerate(base_dirs):
        layout = BuildLayout(base)
        if not storage.exists(layout.metadata):
            raise ValueError(f"{base}: not a complete corpus build (it has no {os.path.basename(layout.metadata)})")
        for found, directory in ((segments, layout.segments), (pairs, layout.bitext)):
            for info in storage.match(storage.join(directory, "**", "*.arrow"), allow_empty=True):
                part_id = f"existing-{number}-{xxhash.xxh3_64_hexdigest(info.path.encode())}"
                found.append(Part(part_id, info.path, 0, existing=True))
    return ExistingParts(segments, pairs)


def stage_graph(config: CorpusConfig, inputs: Inputs) -> StageGraph:
    """The stages a build of `inputs` runs, each with the stages it takes records from (the ledger's rows)."""
    layout = BuildLayout("")
    stages: dict[str, list[str]] = {}

    def add_chain(names: list[str], upstream: list[str]) -> list[str]:
        for name in names:
            stages[name], upstream = upstream, [name]
        return upstream

    if inputs.text:
        add_chain(["read"] + [s.stage_name for s in _text_stages(config, layout)] + ["write"], [])
    ends: list[str] = []
    if inputs.bitext:
        ends += add_chain([f"{BITEXT}/read"] + [s.stage_name for s in _bitext_stages(config, layout)], [])
    if inputs.docpairs:
        ends += add_chain([f"{DOCPAIRS}/read"] + [s.stage_name for s in _docpair_stages(config, layout)], [])
    if ends:
        add_chain([s.stage_name for s in _pair_stages(config, layout)] + [f"{PAIRS}/write"], ends)
    return stages


class _SumCounts(beam.CombineFn):
    def create_accumulator(self) -> Counter:
        return Counter()

    def add_input(self, total: Counter, part: Part) -> Counter:
        total.update(dict(part.counts))
        return total

    def merge_accumulators(self, totals) -> Counter:
        return merge_counts(totals)

    def extract_output(self, total: Counter) -> list:
        return sorted([list(key), n] for key, n in total.items())


def _write_counts(counts: list, path: str) -> None:
    storage.write_bytes(path, json.dumps(counts).encode())


def _run(parts, stages: list[StageTransform], outputs: list) -> beam.PCollection:
    """Apply `stages` in order, keeping every stage's output parts (they carry its ledger counts)."""
    for stage in stages:
        chain = stage.stage_name.split("/")[0].title() if "/" in stage.stage_name else ""
        parts = parts | f"{chain}{type(stage).__name__}" >> stage
        outputs.append(parts)
    return parts


class BuildCorpus(beam.PTransform):
    """Read, normalize, deduplicate, identify language, filter and write text; read, align, filter and
    deduplicate parallel text."""

    def __init__(
        self, config: CorpusConfig, inputs: Inputs, layout: BuildLayout, metadata: dict, existing: ExistingParts
    ):
        super().__init__()
        self.config, self.inputs, self.layout, self.metadata, self.existing = config, inputs, layout, metadata, existing

    def _existing(self, pbegin, parts: list[Part], label: str):
        """Parts of earlier builds as a PCollection, or None when this build extends nothing."""
        return pbegin | label >> beam.Create(parts) if parts else None

    def expand(self, pbegin):
        config, layout, inputs = self.config, self.layout, self.inputs
        outputs: list = []
        if inputs.text:
            parts = pbegin | "PlanText" >> beam.Create(inputs.text) | "ReadText" >> ReadSegments(config.read, layout)
            outputs.append(parts)
            existing = self._existing(pbegin, self.existing.segments, "ExistingSegments")
            parts = _run(parts, _text_stages(config, layout, existing), outputs)
            outputs.append(parts | "WriteSegments" >> WriteSegments(layout, self.metadata))
        pairs = []
        if inputs.bitext:
            parts = pbegin | "PlanBitext" >> beam.Create(inputs.bitext) | "ReadBitext" >> ReadPairs(config.read, layout)
            outputs.append(parts)
            pairs.append(_run(parts, _bitext_stages(config, layout), outputs))
        if inputs.docpairs:
            parts = (
                pbegin
                | "PlanDocumentPairs" >> beam.Create(inputs.docpairs)
                | "ReadDocumentPairs" >> ReadDocumentPairs(config.read, layout)
            )
            outputs.append(parts)
            pairs.append(_run(parts, _docpair_stages(config, layout), outputs))
        if pairs:
            existing = self._existing(pbegin, self.existing.pairs, "ExistingPairs")
            parts = _run(pairs | "AllPairs" >> beam.Flatten(), _pair_stages(config, layout, existing), outputs)
            write = WriteSegments(layout, self.metadata, Pairs, f"{PAIRS}/write")
            outputs.append(parts | "WritePairs" >> write)
        return (
            outputs
            | "AllStageOutputs" >> beam.Flatten()
            | "SumLedgerCounts" >> beam.CombineGlobally(_SumCounts())
            | "WriteLedgerCounts" >> beam.Map(_write_counts, path=layout.counts)
        )



@dataclasses.dataclass(frozen=True)
class BuildResult:
    out_dir: str
    ledger: Ledger
    segments_by_lang: dict[str, int]
    pairs_by_lang: dict[str, int]
    num_rejects: int
    seconds: float



def prepare_output(layout: BuildLayout, overwrite: bool) -> None:
    """Refuse to write over a complete earlier build unless told to, then clear what a new build writes.

    A build that never finished (killed, or failed) left no corpus.json: it is cleared without asking.
    """
    previous = [p for p in (layout.metadata, layout.segments, layout.bitext, layout.rejects, layout.work)
                if storage.exists(p)]  # fmt: skip
    if storage.exists(layout.metadata) and not overwrite:
        raise FileExistsError(
            f"{layout.root} already holds a corpus build; choose another output directory or pass --overwrite"
        )
    if previous and not storage.exists(layout.metadata):
        log.warning("%s holds a build that did not finish; starting it again", layout.root)
    for path in previous + [layout.ledger]:
        storage.delete_tree(path)


def build_corpus(
    config: CorpusConfig,
    out_dir: str,
    pipeline_args: list[str] = (),
    *,
    overwrite: bool = False,
    keep_work: bool = False,
    base_dirs: list[str] = (),
    inputs: Inputs | None = None,
) -> BuildResult:
    """Run the corpus build into `out_dir`; raises LedgerError if any record is unaccounted for.

    With `base_dirs` (earlier, complete builds), only the config's sources are read and their records
    are deduplicated against those builds' outputs, which always win; out_dir holds only the new records.
    `inputs` is the plan of `config` when the caller made it already (planning lists and counts files).
    """
    started = time.monotonic()
    out_dir, base_dirs = storage.absolute(out_dir), [storage.absolute(d) for d in base_dirs]
    layout = BuildLayout(out_dir)
    inputs = inputs or plan_inputs(config)
    existing = existing_parts(base_dirs)
    prepare_output(layout, overwrite)
    metadata = {"corpus": config.name, "normalization": config.normalize.model_dump(), "extends": base_dirs}
    log.info("corpus build %r: %d input parts from %d sources", config.name, len(inputs), len(config.sources))
    with beam.Pipeline(options=pipeline_options(pipeline_args)) as pipeline:
        _ = pipeline | "BuildCorpus" >> BuildCorpus(config, inputs, layout, metadata, existing)
    counts = {tuple(key): n for key, n in json.loads(storage.read_bytes(layout.counts))}
    ledger = Ledger(stage_graph(config, inputs), counts)
    ledger.check()
    segments_by_lang, pairs_by_lang = _count_rows_by(layout.segments, "lang="), _count_rows_by(layout.bitext, "pair=")
    num_rejects = sum(count_rows(info.path) for info in _arrow_files(layout.rejects))
    _check_outputs(ledger, sum(segments_by_lang.values()) + sum(pairs_by_lang.values()), num_rejects)
    if not keep_work:
        storage.delete_tree(layout.work)
    storage.flush_to_disk(out_dir)
    storage.write_bytes(layout.ledger, ledger.dumps().encode())
    # corpus.json is written last: its presence marks a complete build.
    metadata = _metadata(config, ledger, segments_by_lang, pairs_by_lang, num_rejects, base_dirs)
    storage.write_bytes(layout.metadata, metadata.encode())
    seconds = time.monotonic() - started
    return BuildResult(out_dir, ledger, segments_by_lang, pairs_by_lang, num_rejects, seconds)


def _count_rows_by(directory: str, partition: str) -> dict[str, int]:
    """Rows actually on disk in a partitioned output directory, per partition value."""
    rows: Counter = Counter()
    for info in _arrow_files(directory):
        rows[info.path.split(partition)[-1].split("/")[0]] += count_rows(info.path)
    return dict(sorted(rows.items()))


def _arrow_files(directory: str) -> list[storage.FileInfo]:
    return storage.match(storage.join(directory, "**", "*.arrow"), allow_empty=True)


def _check_outputs(ledger: Ledger, num_written: int, num_rejects: int) -> None:
    """The files on disk hold exactly what the ledger says was kept and dropped."""
    kept = sum(ledger.total(stage, KEPT) for stage in ledger.stages if stage.endswith("write"))
    if num_written != kept or num_rejects != ledger.total_dropped():
        raise LedgerError(
            f"output files hold {num_written} records and {num_rejects} rejects, "
            f"but the ledger counts {kept} written and {ledger.total_dropped()} dropped"
        )


def _metadata(
    config: CorpusConfig,
    ledger: Ledger,
    segments_by_lang: dict[str, int],
    pairs_by_lang: dict[str, int],
    num_rejects: int,
    base_dirs: list[str],
) -> str:
    return json.dumps(
        {
            "kind": "xlmforge.corpus",
            "schema_version": 1,
            "config": config.model_dump(mode="json"),
            "normalization": config.normalize.model_dump(),
            "segments_by_lang": segments_by_lang,
            "num_segments": sum(segments_by_lang.values()),
            "pairs_by_lang": pairs_by_lang,
            "num_pairs": sum(pairs_by_lang.values()),
            "num_rejects": num_rejects,
            "ledger_balanced": not ledger.imbalances(),
            "extends": base_dirs,  # earlier builds these records were deduplicated against
        },
        indent=2,
    )


def parts_per_stage(config: CorpusConfig, inputs: Inputs) -> dict[str, int]:
    """How many parts each stage that writes parts will write (the write stages write none)."""
    per_chain = {"bitext": len(inputs.bitext), "docpairs": len(inputs.docpairs)}
    per_chain["pairs"] = per_chain["bitext"] + per_chain["docpairs"]
    return {
        stage: per_chain.get(stage.split("/")[0], len(inputs.text)) if "/" in stage else len(inputs.text)
        for stage in stage_graph(config, inputs)
        if not stage.endswith("write")
    }


def stage_progress(layout: BuildLayout, stage_names: list[str]) -> dict[str, int]:
    """How many parts each stage has finished so far (read from the work directory while a build runs)."""
    done = {}
    for stage in stage_names:
        directory = storage.join(layout.work, stage)
        done[stage] = len(storage.match(storage.join(directory, "*.arrow"), allow_empty=True))
    return done
