"""Bitext filters: each a named rule over a batch of sentence pairs; a pair is rejected by the first
rule it fails, under that rule's name (the order of `FILTERS`):

- empty_side: a side without any letter or digit;
- too_long: a side longer than `max_length` Latin-character equivalents (`weighted_lengths`);
- identical_sides: both sides have the same exact-dedup comparison key (case, punctuation and
  spacing ignored): copied, untranslated text;
- wrong_script: under `min_script_share` of a side's letters are in its language's scripts
  (`core.languages`), a model-free check for a side in the wrong language (it cannot tell
  English from German: that is for the pipeline's language ID on both sides);
- length_ratio: (longer + slack) / (shorter + slack) above `max_length_ratio`, on script-aware
  lengths; the slack keeps "OK" / "D'accord" from counting as a 4x mismatch;
- numbers_mismatch: both sides hold numbers of two or more digits and share none of them (a side
  without digits may spell them out, "2013" / "две тысячи тринадцатый", so it passes; one shared
  number is enough because translations convert units and clock times);

Exact duplicate pairs, and sides that already appear in a different pair, are removed by the
pipeline's pair deduplication (`pipelines.bitext.pairs`), on the comparison keys of `pipelines.common.comparison`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from xlmforge.core.languages import own_script_share
from xlmforge.core.scripts import DIGIT, LETTER, CharStats, char_stats, weighted_lengths
from xlmforge.pipelines.bitext import anchors
from xlmforge.pipelines.common.comparison import comparison_keys
from xlmforge.pipelines.corpus.config import BitextFilterConfig


@dataclasses.dataclass(frozen=True)
class _Pairs:
    """A batch of pairs with what the rules measure on both sides."""

    src: list[str]
    tgt: list[str]
    langs: tuple[list[str], list[str]]
    stats: tuple[CharStats, CharStats]
    lengths: tuple[np.ndarray, np.ndarray]
    config: BitextFilterConfig


# A rule returns (failed mask, measured value) for a batch of pairs.
Rule = Callable[[_Pairs], tuple[np.ndarray, np.ndarray]]


def _empty_side(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    content = np.minimum(*(s.count(LETTER) + s.count(DIGIT) for s in pairs.stats))
    return content == 0, content


def _too_long(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    longest = np.maximum(*pairs.lengths)
    bound = pairs.config.max_length
    return (longest > bound if bound is not None else np.zeros(len(longest), bool)), longest


def _identical_sides(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    same = np.fromiter(
        (np.array_equal(a, b) for a, b in zip(comparison_keys(pairs.src), comparison_keys(pairs.tgt), strict=True)),
        bool,
        len(pairs.src),
    )
    return same, same.astype(float)


def _wrong_script(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    lowest = np.minimum(
        *(own_script_share(stats, langs) for stats, langs in zip(pairs.stats, pairs.langs, strict=True))
    )
    bound = pairs.config.min_script_share
    return (lowest < bound if bound is not None else np.zeros(len(lowest), bool)), lowest


def _length_ratio(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    slack = pairs.config.length_ratio_slack
    ratio = (np.maximum(*pairs.lengths) + slack) / np.maximum(np.minimum(*pairs.lengths) + slack, 1e-9)
    bound = pairs.config.max_length_ratio
    return (ratio > bound if bound is not None else np.zeros(len(ratio), bool)), ratio


def _multi_digit_numbers(text: str) -> set[str]:
    return {number for number in anchors.numbers(text) if len(number) >= 2}


def _numbers_mismatch(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    both_have_digits = (pairs.stats[0].count(DIGIT) > 0) & (pairs.stats[1].count(DIGIT) > 0)
    differing = np.zeros(len(pairs.src))
    disjoint = np.zeros(len(pairs.src), dtype=bool)
    for i in np.flatnonzero(both_have_digits):
        src, tgt = _multi_digit_numbers(pairs.src[i]), _multi_digit_numbers(pairs.tgt[i])
        differing[i] = len(src ^ tgt)
        # Translations convert units and clock times ("27 Meter" / "30 yards", "15:00" / "3pm"), so one
        # shared number is enough; a misaligned or wrong pair shares none.
        disjoint[i] = bool(src) and bool(tgt) and not src & tgt
    return disjoint, differing


#: (filter name, rule), in the order they are applied.
FILTERS: tuple[tuple[str, Rule], ...] = (
    ("empty_side", _empty_side),
    ("too_long", _too_long),
    ("identical_sides", _identical_sides),
    ("wrong_script", _wrong_script),
    ("length_ratio", _length_ratio),
    ("numbers_mismatch", _numbers_mismatch),
)
FILTER_NAMES = tuple(name for name, _ in FILTERS)


def bitext_verdicts(
    src: list[str],
    tgt: list[str],
    src_langs: list[str],
    tgt_langs: list[str],
    config: BitextFilterConfig | None = None,
) -> tuple[list[str | None], list[str | None]]:
    """For each pair, the name of the first filter it fails (or None) and what was measured."""
    if not len(src) == len(tgt) == len(src_langs) == len(tgt_langs):
        raise ValueError(f"pair lists differ in length: {len(src)}, {len(tgt)}, {len(src_langs)}, {len(tgt_langs)}")
    config = config or BitextFilterConfig()
    pairs = _Pairs(
        src,
        tgt,
        (src_langs, tgt_langs),
        (char_stats(src), char_stats(tgt)),
        (weighted_lengths(src), weighted_lengths(tgt)),
        config,
    )
    reasons: list[str | None] = [None] * len(src)
    details: list[str | None] = [None] * len(src)
    for name, rule in FILTERS:
        failed, measured = rule(pairs)
        for i in np.flatnonzero(failed):
            if reasons[i] is None:
                reasons[i], details[i] = name, f"measured {measured[i]:.3g}"
    return reasons, details
