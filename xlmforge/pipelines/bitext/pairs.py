"""The stages of sentence pairs: normalize both sides, identify both languages, filter, deduplicate.

They run on the pairs read from bitext files and on the pairs aligned from document pairs alike,
reusing the monolingual rules side by side; a pair is rejected when either side fails.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from xlmforge.pipelines.bitext.filters import bitext_verdicts
from xlmforge.pipelines.common.comparison import comparison_keys, hash_keys
from xlmforge.pipelines.common.dedup import DropDuplicateKeys
from xlmforge.pipelines.common.parts import Decision, Pairs, RewriteEachPart, StageTransform
from xlmforge.pipelines.corpus.config import BitextFilterConfig, LanguageIdConfig, NormalizeConfig
from xlmforge.pipelines.corpus.language_id import LanguageJudge
from xlmforge.pipelines.corpus.normalize import moses_language, normalize_text

_SIDES = (("src_text", "src_lang"), ("tgt_text", "tgt_lang"))


def _replace(batch: pa.RecordBatch, columns: dict[str, list]) -> pa.RecordBatch:
    for name, values in columns.items():
        index = batch.schema.get_field_index(name)
        batch = batch.set_column(index, batch.schema.field(index), pa.array(values, batch.schema.field(index).type))
    return batch


class PairNormalizer:
    """Normalizes both sides; a pair with a side left empty is rejected."""

    def __init__(self, config: NormalizeConfig):
        self.config = config

    def __call__(self, batch: pa.RecordBatch) -> Decision:
        columns = {
            text: [
                normalize_text(t, self.config, moses_language(code))
                for t, code in zip(batch.column(text).to_pylist(), batch.column(lang).to_pylist())
            ]
            for text, lang in _SIDES
        }
        reasons = [None if s and t else "empty_after_normalization" for s, t in zip(*columns.values())]
        return Decision(_replace(batch, columns), reasons)


class PairLanguagePolicy:
    """Identifies the language of both sides and applies the language policy to each."""

    def __init__(self, config: LanguageIdConfig):
        self.config = config

    def setup(self) -> None:
        self.judge = LanguageJudge(self.config)

    def __call__(self, batch: pa.RecordBatch) -> Decision:
        columns: dict[str, list] = {}
        reasons: list[str | None] = [None] * batch.num_rows
        details: list[str | None] = [None] * batch.num_rows
        for side, (text, lang) in zip(("source", "target"), _SIDES):
            judged = self.judge.judge(batch.column(text).to_pylist(), batch.column(lang).to_pylist())
            columns[lang] = [j.lang for j in judged]
            for i, j in enumerate(judged):
                if j.reason and reasons[i] is None:
                    reasons[i], details[i] = j.reason, f"{side} side: {j.detail}"
        return Decision(_replace(batch, columns), reasons, details)


class PairFilter:
    """The bitext filters: empty side, length, script, length ratio, numbers (see bitext_filters)."""

    def __init__(self, config: BitextFilterConfig):
        self.config = config

    def __call__(self, batch: pa.RecordBatch) -> Decision:
        texts = [batch.column(text).to_pylist() for text, _ in _SIDES]
        langs = [batch.column(lang).to_pylist() for _, lang in _SIDES]
        reasons, details = bitext_verdicts(*texts, *langs, self.config)
        return Decision(batch, reasons, details)


class NormalizePairs(RewriteEachPart):
    """Bring both sides of every pair to their canonical form; drop pairs with a side left empty."""

    stage, kind = "normalize", Pairs

    def decider(self):
        return PairNormalizer(self.config)


class IdentifyPairLanguages(RewriteEachPart):
    """Check both sides of every pair against the declared languages with fastText lid.176."""

    stage, kind = "language_id", Pairs

    def decider(self):
        return PairLanguagePolicy(self.config)


class ApplyBitextFilters(RewriteEachPart):
    """Reject pairs that fail a bitext filter, each under the filter's name."""

    stage, kind = "filters", Pairs

    def decider(self):
        return PairFilter(self.config)


def pair_keys(batch: pa.RecordBatch) -> np.ndarray:
    """A hash of both sides' comparison keys: equal for the same pair up to case, punctuation and spacing."""
    src = comparison_keys(batch.column("src_text").to_pylist())
    tgt = comparison_keys(batch.column("tgt_text").to_pylist())
    # Code point 0 never occurs in a comparison key (controls are left out): a safe separator.
    return hash_keys([np.concatenate([s, [0], t]).astype(np.uint32) for s, t in zip(src, tgt)])


def source_keys(batch: pa.RecordBatch) -> np.ndarray:
    return hash_keys(comparison_keys(batch.column("src_text").to_pylist()))


def target_keys(batch: pa.RecordBatch) -> np.ndarray:
    return hash_keys(comparison_keys(batch.column("tgt_text").to_pylist()))


class DropDuplicatePairs(StageTransform):
    """Keep one copy of each pair (up to case, punctuation and spacing) across all parallel sources."""

    stage, reason = "dedup", "duplicate_pair"
    keys_of = staticmethod(pair_keys)

    def expand(self, parts):
        keep_one = DropDuplicateKeys(
            self.keys_of, self.config.num_partitions, self.stage_name, self.reason, self.layout, Pairs, self.existing
        )
        return parts | "KeepOnePerKey" >> keep_one


class DropRepeatedSources(DropDuplicatePairs):
    """Keep one pair per source sentence: a sentence translated twice would weigh twice in TLM."""

    stage, reason = "dedup_source", "repeated_source"
    keys_of = staticmethod(source_keys)


class DropRepeatedTargets(DropDuplicatePairs):
    """Keep one pair per target sentence."""

    stage, reason = "dedup_target", "repeated_target"
    keys_of = staticmethod(target_keys)
