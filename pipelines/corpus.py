"""The monolingual corpus build as one composite transform: input ranges in, ledger counts out."""

from __future__ import annotations

import json
from collections import Counter

import apache_beam as beam

from pipelines import storage
from pipelines.config import CorpusConfig
from pipelines.dedup_exact import DropExactDuplicates
from pipelines.dedup_near import DropNearDuplicates
from pipelines.filters import ApplyQualityFilters
from pipelines.language_id import IdentifyLanguage
from pipelines.layout import BuildLayout
from pipelines.ledger import merge_counts
from pipelines.normalize import NormalizeSegments
from pipelines.parts import Part
from pipelines.read import InputRange, ReadSegments
from pipelines.write import WriteSegments


def stages(config: CorpusConfig) -> list[str]:
    """The stages a build with `config` runs, in order (the ledger's rows)."""
    enabled = {
        "exact_dedup": config.exact_dedup.enabled,
        "near_dedup": config.near_dedup.enabled,
        "language_id": config.language_id.enabled,
    }
    order = ["read", "normalize", "exact_dedup", "near_dedup", "language_id", "filters", "write"]
    return [s for s in order if enabled.get(s, True)]


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


class BuildCorpus(beam.PTransform):
    """Read, normalize, deduplicate (exactly, then nearly), identify language, filter and write."""

    def __init__(self, config: CorpusConfig, ranges: list[InputRange], layout: BuildLayout, metadata: dict):
        super().__init__()
        self.config, self.ranges, self.layout, self.metadata = config, ranges, layout, metadata

    def expand(self, pbegin):
        config, layout = self.config, self.layout
        parts = pbegin | "PlanInputs" >> beam.Create(self.ranges) | "Read" >> ReadSegments(config.read, layout)
        outputs = [parts]
        parts = parts | "Normalize" >> NormalizeSegments(config.normalize, layout)
        outputs.append(parts)
        if config.exact_dedup.enabled:
            parts = parts | "DropExactDuplicates" >> DropExactDuplicates(config.exact_dedup, layout)
            outputs.append(parts)
        if config.near_dedup.enabled:
            parts = parts | "DropNearDuplicates" >> DropNearDuplicates(config.near_dedup, layout)
            outputs.append(parts)
        if config.language_id.enabled:
            parts = parts | "IdentifyLanguage" >> IdentifyLanguage(config.language_id, layout)
            outputs.append(parts)
        parts = parts | "ApplyQualityFilters" >> ApplyQualityFilters(config.filters, layout)
        outputs.append(parts)
        outputs.append(parts | "Write" >> WriteSegments(layout, self.metadata))
        return (
            outputs
            | "AllStageOutputs" >> beam.Flatten()
            | "SumLedgerCounts" >> beam.CombineGlobally(_SumCounts())
            | "WriteLedgerCounts" >> beam.Map(_write_counts, path=layout.counts)
        )
