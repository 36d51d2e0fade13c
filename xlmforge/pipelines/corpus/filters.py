"""Quality filters: each a named rule over a batch of segments; a segment is rejected by the first
rule it fails, under that rule's name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from xlmforge.core.languages import own_script_share
from xlmforge.core.scripts import DIGIT, LETTER, MARK, PUNCT, SPACE, SYMBOL, CharStats, char_stats, code_points
from xlmforge.pipelines.common.parts import Decision, RewriteEachPart
from xlmforge.pipelines.corpus import junk
from xlmforge.pipelines.corpus.config import FilterConfig

STAGE = "filters"
_MIN_WORDS_FOR_REPEATS = 6


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


@functools.cache
def _run_pattern(length: int) -> re.Pattern:
    return re.compile(r"(\S)\1{" + str(length - 1) + ",}")


def _with_equal_runs(texts: list[str], length: int) -> np.ndarray:
    """Indices of the texts holding `length` equal code points in a row, spaces included: what the run
    regex could match, found for the whole batch at once so that it runs on a few texts only."""
    cps = code_points("".join(texts))
    ends = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)))  # one past each text's last code point
    same = cps[1:] == cps[:-1]  # same[j]: code points j and j + 1 are equal
    boundaries = ends[(ends > 0) & (ends < len(cps))]
    same[boundaries - 1] = False  # the last code point of a text and the first of the next
    in_window = np.concatenate(([0], np.cumsum(same)))
    window = length - 1
    starts = np.flatnonzero(in_window[window:] - in_window[:-window] == window)
    return np.unique(np.searchsorted(ends, starts, side="right"))


def _longest_runs(texts: list[str], length: int) -> np.ndarray:
    """1 where a text repeats one non-space character `length` times in a row."""
    pattern = _run_pattern(length)
    runs = np.zeros(len(texts), bool)
    for i in _with_equal_runs(texts, length):
        runs[i] = pattern.search(texts[i]) is not None
    return runs


def _repeated_word_ratios(texts: list[str]) -> np.ndarray:
    """Share of words that repeat an earlier word, for texts of enough words (0 otherwise)."""
    ratios = np.zeros(len(texts))
    for i, text in enumerate(texts):
        words = text.casefold().split()
        if len(words) >= _MIN_WORDS_FOR_REPEATS:
            ratios[i] = 1.0 - len(set(words)) / len(words)
    return ratios


# A rule returns (failed mask, measured values) for a batch, given its bound.
Rule = Callable[[list[str], list[str], CharStats, float], tuple[np.ndarray, np.ndarray]]


def _non_space(stats: CharStats) -> np.ndarray:
    return stats.num_chars - stats.count(SPACE)


def _too_short(texts, langs, stats, bound):
    return stats.num_chars < bound, stats.num_chars


def _too_long(texts, langs, stats, bound):
    return stats.num_chars > bound, stats.num_chars


def _low_letter_ratio(texts, langs, stats, bound):
    ratio = _ratio(stats.count(LETTER) + stats.count(MARK), _non_space(stats))
    return ratio < bound, ratio


def _high_digit_punct_ratio(texts, langs, stats, bound):
    ratio = _ratio(stats.count(DIGIT) + stats.count(PUNCT) + stats.count(SYMBOL), _non_space(stats))
    return ratio > bound, ratio


def _repeated_characters(texts, langs, stats, bound):
    runs = _longest_runs(texts, int(bound))
    return runs, runs.astype(float)


def _repeated_words(texts, langs, stats, bound):
    ratio = _repeated_word_ratios(texts)
    return ratio > bound, ratio


def _wrong_script(texts, langs, stats, bound):
    share = own_script_share(stats, langs)
    return share < bound, share


def _combining_mark_flood(texts, langs, stats, bound):
    marks, letters = stats.count(MARK).astype(float), stats.count(LETTER)
    ratio = np.divide(marks, letters, out=marks.copy(), where=letters > 0)  # marks alone: as many as there are
    return ratio > bound, ratio


def _score_at_least(detector: junk.Detector) -> Rule:
    """A rule failing lines whose junk score reaches the bound (a switch's True counts as 1)."""

    def rule(texts, langs, stats, bound):
        score = junk.scores(texts, detector)
        return score >= bound, score

    return rule


def _share_above(detector: junk.Detector) -> Rule:
    """A rule failing lines whose junk share exceeds the bound."""

    def rule(texts, langs, stats, bound):
        share = junk.scores(texts, detector)
        return share > bound, share

    return rule


#: (filter name, config field holding its bound, rule), in the order they are applied. The shape
#: filters come first (a log line is rejected as one, not for its digits), the most specific first.
FILTERS: tuple[tuple[str, str, Rule], ...] = (
    ("too_short", "min_chars", _too_short),
    ("too_long", "max_chars", _too_long),
    ("bare_links", "max_link_share", _share_above(junk.LINKS)),
    ("encoded_blob", "max_blob_share", _share_above(junk.BLOB)),
    ("config_or_log_line", "reject_config_or_log_lines", _score_at_least(junk.CONFIG_OR_LOG)),
    ("code", "min_code_signals", _score_at_least(junk.CODE)),
    ("key_value_or_table", "reject_key_value_or_tables", _score_at_least(junk.KEY_VALUE_OR_TABLE)),
    ("low_letter_ratio", "min_letter_ratio", _low_letter_ratio),
    ("high_digit_punct_ratio", "max_digit_punct_ratio", _high_digit_punct_ratio),
    ("repeated_characters", "max_char_run", _repeated_characters),
    ("repeated_words", "max_repeated_word_ratio", _repeated_words),
    ("combining_mark_flood", "max_marks_per_letter", _combining_mark_flood),
    ("wrong_script", "min_script_share", _wrong_script),
)


def quality_verdicts(
    texts: list[str], langs: list[str], config: FilterConfig
) -> tuple[list[str | None], list[str | None]]:
    """For each text, the name of the first filter it fails (or None) and what was measured."""
    stats = char_stats(texts)
    reasons: list[str | None] = [None] * len(texts)
    details: list[str | None] = [None] * len(texts)
    for name, field, rule in FILTERS:
        bound = getattr(config, field)
        if bound is None or bound is False:
            continue
        failed, measured = rule(texts, langs, stats, bound)
        for i in np.flatnonzero(failed):
            if reasons[i] is None:
                reasons[i], details[i] = name, f"{field}={bound}, measured {measured[i]:.3g}"
    return reasons, details


class QualityFilter:
    """The filters stage's batch decider."""

    def __init__(self, config: FilterConfig):
        self.config = config

    def __call__(self, batch: pa.RecordBatch) -> Decision:
        reasons, details = quality_verdicts(
            batch.column("text").to_pylist(), batch.column("lang").to_pylist(), self.config
        )
        return Decision(batch, reasons, details)


class ApplyQualityFilters(RewriteEachPart):
    """Reject segments that fail a quality rule: length, letter and symbol ratios, repetition, script."""

    stage = STAGE

    def decider(self):
        return QualityFilter(self.config)
