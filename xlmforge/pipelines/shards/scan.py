"""The first pass over the corpus: the vocabulary sample and the held-out split keys.

Both need only the per-language counts, fixed on the driver beforehand, so one read of every file
does both: each file leaves a text file of sampled sentences and an array of the split keys of its
valid and test records (every side of a pair). The driver then trains the vocabulary on the samples
and merges the keys into the set the encode pass decontaminates against. Each file's split keys of
all its records are kept too, so that the encode pass reads them instead of hashing every text again.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping

import apache_beam as beam
import numpy as np

from xlmforge.core import storage
from xlmforge.pipelines.common.parts import read_batches
from xlmforge.pipelines.shards.inputs import InputFile
from xlmforge.pipelines.shards.layout import ShardsLayout
from xlmforge.pipelines.shards.splits import TRAIN, SplitPlan, split_keys
from xlmforge.pipelines.shards.vocab import sample_texts


class _ScanFile(beam.DoFn):
    def __init__(self, layout: ShardsLayout, splits: SplitPlan, rates: Mapping[str, float], vocab_seed: int):
        self.layout, self.splits, self.rates, self.vocab_seed = layout, splits, rates, vocab_seed

    def process(self, file: InputFile) -> Iterator[str]:
        heldout: list[np.ndarray] = []
        every_key: list[np.ndarray] = [np.zeros((len(file.text_columns), 0), np.uint64)]
        with storage.atomic_write(self.layout.vocab_sample(file.part_id), durable=False) as sample:
            for batch in read_batches(file.path, file.records.schema):
                keys = [split_keys(batch.column(c).to_pylist(), self.splits.seed) for c in file.text_columns]
                every_key.append(np.stack(keys))
                splits = self.splits.assign(file.key, keys[0])
                heldout += [side[splits != TRAIN] for side in keys]
                ids = batch.column(file.records.id_column)
                eligible = splits == TRAIN
                for text in sample_texts(
                    batch, file.text_columns, file.langs, ids, self.rates, self.vocab_seed, eligible
                ):
                    sample.write((text.replace("\n", " ") + "\n").encode())
        save_keys(self.layout.heldout_keys(file.part_id), heldout)
        with storage.atomic_write(self.layout.split_keys(file.part_id), durable=False) as f:
            np.save(f, np.concatenate(every_key, axis=1))
        yield file.part_id


class ScanCorpus(beam.PTransform):
    """Sample each file's training text for the vocabulary and record the split keys of its held-out records."""

    def __init__(self, layout: ShardsLayout, splits: SplitPlan, rates: Mapping[str, float], vocab_seed: int):
        super().__init__()
        self.layout, self.splits, self.rates, self.vocab_seed = layout, splits, rates, vocab_seed

    def expand(self, files):
        return files | "SampleTextAndHeldOutKeys" >> beam.ParDo(
            _ScanFile(self.layout, self.splits, self.rates, self.vocab_seed)
        )


def merge_heldout_keys(layout: ShardsLayout, files: list[InputFile]) -> np.ndarray:
    """The held-out split keys of all files, sorted and unique; also written for the encode pass."""
    return save_keys(layout.all_heldout_keys, [load_keys(layout.heldout_keys(f.part_id)) for f in files])


def save_keys(path: str, arrays: list[np.ndarray]) -> np.ndarray:
    """Write the sorted unique union of uint64 key arrays as .npy; returns it."""
    keys = np.unique(np.concatenate([np.zeros(0, np.uint64), *arrays])).astype(np.uint64)
    with storage.atomic_write(path, durable=False) as f:  # work files: the build flushes once at the end
        np.save(f, keys)
    return keys


def load_keys(path: str) -> np.ndarray:
    return np.load(io.BytesIO(storage.read_bytes(path)))
