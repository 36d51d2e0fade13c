"""Exact deduplication across all sources, languages and documents, on a normalized key."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from xlmforge.pipelines.common.comparison import key_hashes
from xlmforge.pipelines.common.dedup import DropDuplicateKeys
from xlmforge.pipelines.common.parts import StageTransform

STAGE = "exact_dedup"
REASON = "exact_duplicate"


def text_keys(batch: pa.RecordBatch) -> np.ndarray:
    """The comparison key hash of each segment's text."""
    return key_hashes(batch.column("text").to_pylist())


class DropExactDuplicates(StageTransform):
    """Keep one copy of each text (up to case, punctuation and spacing); the smallest segment id wins."""

    stage = STAGE

    def expand(self, parts):
        keep_one = DropDuplicateKeys(
            text_keys, self.config.num_partitions, self.stage_name, REASON, self.layout, existing=self.existing
        )
        return parts | "KeepOnePerText" >> keep_one
