"""Train/valid/test splits by a stable hash of the normalized text, and decontamination.

A text's split key is the seeded xxh3 hash of its exact-dedup comparison key (casefolded, without
punctuation or spaces), read as a number u in [0, 1). A segment of language L is valid when
u < f_valid(L), test when u < f_valid(L) + f_test(L), train otherwise, where the fractions make the
held-out splits about the configured sizes. A sentence pair is split by its source side. The same
text therefore gets the same u in every file, every language and either side of a pair, and the
held-out keys of all files together are small enough to send to every worker: a training record
whose text (either side of a pair) has a held-out key anywhere is dropped as `decontaminated`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from xlmforge.core.sampling import unit_interval
from xlmforge.pipelines.common.comparison import key_hashes
from xlmforge.pipelines.shards.config import SplitsConfig

SPLITS = ("train", "valid", "test")
TRAIN, VALID, TEST = range(3)
REASON = "decontaminated"


def split_keys(texts: Sequence[str], seed: int) -> np.ndarray:
    """The split key (uint64) of each text: texts equal up to case, punctuation and spacing share it."""
    return key_hashes(list(texts), seed)


@dataclasses.dataclass(frozen=True)
class SplitPlan:
    """Held-out fractions per language or pair, fixed on the driver from the corpus counts."""

    fractions: Mapping[str, tuple[float, float]]  # key -> (valid, test)
    seed: int

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], config: SplitsConfig) -> SplitPlan:
        """ValueError naming the language when its held-out sizes leave nothing to train on."""
        fractions = {}
        for key, num_records in sorted(counts.items()):
            sizes = config.sizes_of(key)
            if sizes.valid + sizes.test >= num_records:
                raise ValueError(
                    f"{key!r} has {num_records} records, not more than its valid + test sizes "
                    f"({sizes.valid} + {sizes.test}): nothing would be left to train on; lower "
                    f"splits.valid_size / splits.test_size or set splits.sizes.{key}"
                )
            fractions[key] = (sizes.valid / num_records, sizes.test / num_records)
        return cls(fractions, config.seed)

    def assign(self, key: str, split_keys: np.ndarray) -> np.ndarray:
        """The split (TRAIN, VALID or TEST) of each record of `key` with these split keys."""
        valid, test = self.fractions[key]
        u = unit_interval(split_keys)
        return np.where(u < valid, VALID, np.where(u < valid + test, TEST, TRAIN)).astype(np.int8)


def contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of `keys` is in `sorted_keys` (sorted uint64)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def decontaminated(splits: np.ndarray, side_keys: Sequence[np.ndarray], heldout: np.ndarray) -> np.ndarray:
    """Training records with a side whose split key is held out somewhere."""
    hit = np.zeros(len(splits), dtype=bool)
    for keys in side_keys:
        hit |= contains(heldout, keys)
    return (splits == TRAIN) & hit
