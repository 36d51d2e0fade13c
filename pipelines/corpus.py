"""The corpus build as one composite transform: planned inputs in, ledger counts out.

Three chains share the stages they have in common:

    text      read -> normalize -> exact_dedup -> near_dedup -> language_id -> filters -> write
    bitext    bitext/read -> bitext/normalize -> bitext/language_id --------+
    docpairs  docpairs/read -> docpairs/normalize -> docpairs/language_id   +-> pairs/filters
                -> docpairs/align ------------------------------------------+     -> pairs/dedup -> pairs/write
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter

import apache_beam as beam
import xxhash

from pipelines import storage
from pipelines.align_documents import AlignDocumentPairs
from pipelines.bitext import (
    ApplyBitextFilters,
    DropDuplicatePairs,
    DropRepeatedSources,
    DropRepeatedTargets,
    IdentifyPairLanguages,
    NormalizePairs,
)
from pipelines.config import CorpusConfig
from pipelines.dedup_exact import DropExactDuplicates
from pipelines.dedup_near import DropNearDuplicates
from pipelines.filters import ApplyQualityFilters
from pipelines.inputs import Inputs
from pipelines.language_id import IdentifyLanguage
from pipelines.layout import BuildLayout
from pipelines.ledger import Flow, merge_counts
from pipelines.normalize import NormalizeSegments
from pipelines.parts import Pairs, Part, StageTransform
from pipelines.read import ReadSegments
from pipelines.read_pairs import ReadDocumentPairs, ReadPairs
from pipelines.write import WriteSegments

BITEXT, DOCPAIRS, PAIRS = "bitext", "docpairs", "pairs"


def _text_stages(config: CorpusConfig, layout: BuildLayout, existing=None) -> list[StageTransform]:
    stages = [NormalizeSegments(config.normalize, layout)]
    if config.exact_dedup.enabled:
        stages.append(DropExactDuplicates(config.exact_dedup, layout, existing=existing))
    if config.near_dedup.enabled:
        stages.append(DropNearDuplicates(config.near_dedup, layout, existing=existing))
    if config.language_id.enabled:
        stages.append(IdentifyLanguage(config.language_id, layout))
    return stages + [ApplyQualityFilters(config.filters, layout)]


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


def flow(config: CorpusConfig, inputs: Inputs) -> Flow:
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
