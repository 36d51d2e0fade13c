"""The encode-and-write pass of the shard build as one composite transform: input files in; the ledger
counts, the list of written shards and the train-split token frequencies out, as files for the driver.

The three are merged in one combine, so the pass has two shuffles: the descriptors that gather a
sequence, and this summary.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections import Counter
from collections.abc import Iterable

import apache_beam as beam
import numpy as np

from pipelines import storage
from pipelines.encode import EncodeFiles
from pipelines.shard_inputs import InputFile
from pipelines.shards import WriteShards, WrittenSequence
from pipelines.shards_config import ShardsConfig
from pipelines.shards_layout import ShardsLayout
from pipelines.splits import SplitPlan
from schemas.manifest import ShardInfo


@dataclasses.dataclass
class BuildSummary:
    """Ledger counts, written shards and train-split token frequencies, summed over the build."""

    counts: Counter
    shards: list[ShardInfo]
    token_counts: np.ndarray


class _SummarizeBuild(beam.CombineFn):
    """Folds encode counts (tuples of ((stage, lang, outcome), n)) and WrittenSequences into a BuildSummary."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size

    def create_accumulator(self) -> BuildSummary:
        return BuildSummary(Counter(), [], np.zeros(self.vocab_size, dtype=np.int64))

    def add_input(self, summary: BuildSummary, element: tuple | WrittenSequence) -> BuildSummary:
        if isinstance(element, WrittenSequence):
            summary.counts.update(dict(element.counts))
            summary.shards += element.shards
            if element.token_counts is not None:
                summary.token_counts += element.token_counts
        else:
            summary.counts.update(dict(element))
        return summary

    def merge_accumulators(self, summaries: Iterable[BuildSummary]) -> BuildSummary:
        merged = self.create_accumulator()
        for summary in summaries:
            merged.counts.update(summary.counts)
            merged.shards += summary.shards
            merged.token_counts += summary.token_counts
        return merged

    def extract_output(self, summary: BuildSummary) -> BuildSummary:
        return summary


def _write_summary(summary: BuildSummary, layout: ShardsLayout) -> None:
    """The summary as work files for the driver, and the token frequencies at their final place."""
    files = {
        layout.ledger_counts: json.dumps(sorted([list(key), n] for key, n in summary.counts.items())).encode(),
        layout.written_shards: json.dumps([shard.model_dump() for shard in summary.shards]).encode(),
    }
    buffer = io.BytesIO()
    np.save(buffer, summary.token_counts, allow_pickle=False)
    files[layout.token_counts] = buffer.getvalue()
    for path, data in files.items():
        with storage.atomic_write(path, durable=False) as f:  # the driver flushes before the manifest
            f.write(data)


class EncodeAndWriteShards(beam.PTransform):
    """Split, decontaminate and encode every input file, cut each sequence into shards, and summarize."""

    def __init__(
        self, files: list[InputFile], layout: ShardsLayout, splits: SplitPlan, vocab_size: int, config: ShardsConfig
    ):
        super().__init__()
        self.files, self.layout, self.splits, self.vocab_size, self.config = files, layout, splits, vocab_size, config

    def expand(self, pbegin):
        encoded = (
            pbegin
            | "ListInputFiles" >> beam.Create(self.files)
            | "Encode" >> EncodeFiles(self.layout, self.splits, self.vocab_size)
        )
        written = encoded.parts | "WriteShards" >> WriteShards(self.layout, self.config.shards, self.vocab_size)
        summary = (
            (encoded.counts, written)
            | "EncodeCountsAndSequences" >> beam.Flatten()
            | "SummarizeBuild" >> beam.CombineGlobally(_SummarizeBuild(self.vocab_size))
        )
        _ = summary | "WriteSummary" >> beam.Map(_write_summary, layout=self.layout)
        return summary
