"""Sentence alignment of two documents that translate each other (Gale & Church 1993, banded).

A bead pairs 0-2 consecutive source sentences with 0-2 consecutive target sentences (1-1, 2-1, 1-2,
2-2, 1-0, 0-1). The best sequence of beads minimises the summed bead cost, in nats:

    cost = -log prior(kind) - log P(|Z| >= |z|) - anchor bonuses + anchor penalties

where z compares the two sides' script-aware lengths (`weighted_lengths`) as Gale & Church do:
z = (r·l_src - l_tgt) / sqrt(variance · (l_src + l_tgt / r) / 2), r the expected length ratio
(estimated from the document pair unless configured). Anchors (`pipelines.bitext.anchors`) found on both
sides of a bead lower its cost; numbers, URLs and marks on one side only raise it. A 1-0 or 0-1 bead
pays its prior only: an untranslated sentence has no partner to match, and Gale & Church's length
term would make deletions so dear that they get glued to a neighbour as a false 2-1.

The dynamic programme only visits a band of target positions around the diagonal that the
cumulative lengths predict, `band_min` wide or `band_fraction` of the longer side; when the best
path comes near the band's edge the band is doubled and the programme rerun, up to `band_max`.
Each row is computed with numpy, the in-row 0-1 moves with a running minimum.

The score of a bead (`Bead.score`, in [0, 1]) is P(|Z| >= |z|), the share of true translations
whose lengths differ at least this much, times e^bonus and e^-penalty for its anchors, capped at 1;
1-0 and 0-1 beads score 0. `AlignConfig.min_score` = 0.001 rejects a bead whose length mismatch is
beyond 3.3 standard deviations unless shared anchors vouch for it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence

import numpy as np

from xlmforge.core.scripts import weighted_lengths
from xlmforge.pipelines.bitext import anchors
from xlmforge.pipelines.corpus.config import AlignConfig

logger = logging.getLogger(__name__)

_RATIO_PRIOR_LENGTH = 300.0  # about three sentences


@dataclasses.dataclass(frozen=True)
class Bead:
    """Consecutive source and target sentence indices aligned together, with their cost and score."""

    src: tuple[int, ...]
    tgt: tuple[int, ...]
    cost: float  # the bead's term of the path cost, in nats (see module docstring)
    score: float  # in [0, 1]; 0 for 1-0 and 0-1

    @property
    def kind(self) -> str:
        return f"{len(self.src)}-{len(self.tgt)}"


def bead_reject_reason(bead: Bead, config: AlignConfig) -> str | None:
    """Why `bead` must not become a sentence pair, or None to keep it."""
    if not bead.tgt:
        return "unaligned_source"
    if not bead.src:
        return "unaligned_target"
    if bead.score < config.min_score:
        return "low_alignment_score"
    return None


# Numerical Recipes' erfcc: erfc(x) = t·exp(-x² + P(t)), t = 1 / (1 + x/2), fractional error < 1.2e-7.
_ERFC_COEFFICIENTS = (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
)  # fmt: skip


def _log_erfc(x: np.ndarray) -> np.ndarray:
    """log(erfc(x)) for x >= 0, computed in log space so that it does not underflow."""
    t = 1.0 / (1.0 + 0.5 * x)
    poly = np.zeros_like(t)
    for coefficient in reversed(_ERFC_COEFFICIENTS):
        poly = poly * t + coefficient
    return np.log(t) - x * x + poly


def _estimated_ratio(src_len: np.ndarray, tgt_len: np.ndarray) -> float:
    """Target/source length ratio of a document pair, shrunk towards 1 and kept within [1/2, 2].

    Script-aware lengths put every NTREX language within 0.8-1.25 of English. The shrinkage (as if
    both sides had `_RATIO_PRIOR_LENGTH` more characters) keeps a short document's dropped or extra
    sentence from skewing it; the clip keeps a one-sentence "document" from matching any length."""
    ratio = (tgt_len.sum() + _RATIO_PRIOR_LENGTH) / (src_len.sum() + _RATIO_PRIOR_LENGTH)
    return float(np.clip(ratio, 0.5, 2.0))


def _length_cost(src_len: np.ndarray, tgt_len: np.ndarray, ratio: float, variance: float) -> np.ndarray:
    """-log P(|Z| >= |z|), Gale & Church's length mismatch of beads with these side lengths."""
    mean = (src_len + tgt_len / ratio) / 2
    z = np.abs(ratio * src_len - tgt_len) / np.sqrt(variance * np.maximum(mean, 1e-9))
    return -_log_erfc(z / math.sqrt(2))


@dataclasses.dataclass(frozen=True)
class _Band:
    """The DP cells visited: row i (source sentences used) spans target columns lo[i]..hi[i]."""

    lo: np.ndarray
    hi: np.ndarray
    offset: np.ndarray  # start of each row in the flat cell arrays; offset[-1] is the cell count
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def around(cls, src_len: np.ndarray, tgt_len: np.ndarray, half_width: int) -> _Band:
        # +1 per sentence keeps the cumulative curves strictly increasing when lengths are 0.
        src_cum = np.concatenate([[0.0], np.cumsum(src_len + 1)])
        tgt_cum = np.concatenate([[0.0], np.cumsum(tgt_len + 1)])
        m = len(tgt_len)
        center = np.interp(src_cum / max(src_cum[-1], 1.0), tgt_cum / max(tgt_cum[-1], 1.0), np.arange(m + 1.0))
        center[-1] = m  # the path ends at (n, m) even when the source is empty
        # Row i reaches back to row i-1's centre so consecutive rows always overlap.
        previous = np.concatenate([[0.0], center[:-1]])
        lo = np.clip(np.floor(previous).astype(np.int64) - half_width, 0, m)
        hi = np.clip(np.ceil(center).astype(np.int64) + half_width, 0, m)
        widths = hi - lo + 1
        offset = np.concatenate([[0], np.cumsum(widths)])
        rows = np.repeat(np.arange(len(lo)), widths)
        cols = np.arange(offset[-1]) - np.repeat(offset[:-1], widths) + np.repeat(lo, widths)
        return cls(lo=lo, hi=hi, offset=offset, rows=rows, cols=cols)

    @property
    def size(self) -> int:
        return int(self.offset[-1])

    def cell(self, row: int, col: int) -> int:
        return int(self.offset[row] + col - self.lo[row])

    def row_values(self, values: np.ndarray, row: int, first_col: int, count: int) -> np.ndarray:
        """values[row, first_col : first_col + count] from flat storage, inf outside the band."""
        out = np.full(count, np.inf)
        start = first_col - self.lo[row]
        a, b = max(start, 0), min(start + count, self.hi[row] - self.lo[row] + 1)
        if b > a:
            out[a - start : b - start] = values[self.offset[row] + a : self.offset[row] + b]
        return out


@dataclasses.dataclass(frozen=True)
class _Anchors:
    """Occurrences of one class of anchors in one document: value ids and the sentences holding them."""

    values: np.ndarray
    sentences: np.ndarray


def _document_anchors(sentences: list[str], ids: dict[str, int], min_token_chars: int) -> tuple[_Anchors, ...]:
    """The anchors of `sentences` in three classes: numbers and URLs, verbatim tokens, marks."""
    found: tuple[list[tuple[int, int]], ...] = ([], [], [])
    for index, text in enumerate(sentences):
        classes = (
            set(anchors.numbers(text)) | {"url:" + url for url in anchors.urls(text)},
            anchors.tokens(text, min_token_chars),
            anchors.marks(text),
        )
        for tag, values, occurrences in zip("ntm", classes, found, strict=True):
            occurrences.extend((ids.setdefault(tag + value, len(ids)), index) for value in values)
    arrays = [np.array(occurrences, dtype=np.int64).reshape(-1, 2) for occurrences in found]
    return tuple(_Anchors(array[:, 0], array[:, 1]) for array in arrays)


def _group_keys(anchors_: _Anchors, size: int, count: int) -> np.ndarray:
    """Sorted unique keys value·(count+1) + i of the values in the `size` sentences before index i."""
    ends = (anchors_.sentences[:, None] + 1 + np.arange(size)).ravel()
    keys = np.repeat(anchors_.values, size) * (count + 1) + ends
    return np.unique(keys[ends <= count])


def _shared_counts(band: _Band, src_keys: np.ndarray, tgt_keys: np.ndarray, n: int, m: int) -> np.ndarray:
    """Per band cell, the number of distinct values in both the source and the target group."""
    src_values, src_rows = np.divmod(src_keys, n + 1)
    left = np.searchsorted(tgt_keys, src_values * (m + 1) + band.lo[src_rows], side="left")
    right = np.searchsorted(tgt_keys, src_values * (m + 1) + band.hi[src_rows], side="right")
    counts = right - left
    which = np.repeat(np.arange(len(src_keys)), counts)
    position = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + left[which]
    rows = src_rows[which]
    cols = tgt_keys[position] % (m + 1)
    return np.bincount(band.offset[rows] + cols - band.lo[rows], minlength=band.size)


@dataclasses.dataclass(frozen=True)
class _Costs:
    kinds: tuple[tuple[int, int], ...]  # (sources, targets) of the kinds with a source sentence
    bead: tuple[np.ndarray, ...]  # per kind, the bead cost ending at each band cell
    match: tuple[np.ndarray, ...]  # per kind, the cost without the prior (for the score)
    skip_target: np.ndarray  # cost of the 0-1 bead of each target sentence, by column 1..m


def _anchor_cost(
    band: _Band, a: int, b: int, src: tuple[_Anchors, ...], tgt: tuple[_Anchors, ...], config: AlignConfig
) -> np.ndarray:
    """Per band cell, the anchor penalties minus bonuses of the a-b bead ending there."""
    n, m = len(band.lo) - 1, int(band.hi[-1])
    weights = (
        (config.number_bonus, config.number_penalty),
        (config.token_bonus, 0.0),  # most words are not copied, so a token on one side says nothing
        (config.mark_bonus, config.mark_penalty),
    )
    cost = np.zeros(band.size)
    for src_anchors, tgt_anchors, (bonus, penalty) in zip(src, tgt, weights, strict=True):
        src_keys, tgt_keys = _group_keys(src_anchors, a, n), _group_keys(tgt_anchors, b, m)
        shared = _shared_counts(band, src_keys, tgt_keys, n, m)
        cost -= (bonus + 2 * penalty) * shared
        if penalty:
            src_distinct = np.bincount(src_keys % (n + 1), minlength=n + 1)
            tgt_distinct = np.bincount(tgt_keys % (m + 1), minlength=m + 1)
            cost += penalty * (src_distinct[band.rows] + tgt_distinct[band.cols])
    return cost


def _bead_costs(
    band: _Band,
    src_len: np.ndarray,
    tgt_len: np.ndarray,
    src: tuple[_Anchors, ...],
    tgt: tuple[_Anchors, ...],
    config: AlignConfig,
) -> _Costs:
    ratio = config.length_ratio or _estimated_ratio(src_len, tgt_len)
    src_cum = np.concatenate([[0.0], np.cumsum(src_len)])
    tgt_cum = np.concatenate([[0.0], np.cumsum(tgt_len)])
    rows, cols = band.rows, band.cols
    kinds, bead, match = [], [], []
    skip_target = np.zeros(len(tgt_len) + 1)
    for kind, prior in config.priors:
        a, b = (int(x) for x in kind.split("-"))
        if a == 0:
            skip_target[:] = -math.log(prior)
            skip_target[0] = np.inf
            continue
        cost = np.zeros(band.size)  # 1-0 beads pay their prior only
        if b > 0:
            src_group = src_cum[rows] - src_cum[np.maximum(rows - a, 0)]
            tgt_group = tgt_cum[cols] - tgt_cum[np.maximum(cols - b, 0)]
            length_cost = _length_cost(src_group, tgt_group, ratio, config.variance)
            cost = length_cost + _anchor_cost(band, a, b, src, tgt, config)
        cost = np.where((rows >= a) & (cols >= b), cost, np.inf)
        kinds.append((a, b))
        match.append(cost)
        bead.append(cost - math.log(prior))
    return _Costs(tuple(kinds), tuple(bead), tuple(match), skip_target)


def _best_path(band: _Band, costs: _Costs, n: int, m: int, margin: int) -> tuple[list[Bead], bool]:
    """The cheapest bead sequence inside the band, and whether it comes within `margin` of the edge."""
    total = np.empty(band.size)
    choice = np.zeros(band.size, dtype=np.int8)
    from_left = np.zeros(band.size, dtype=bool)
    skip_cum = np.cumsum(np.where(np.isinf(costs.skip_target), 0.0, costs.skip_target))
    for i in range(n + 1):
        start, end = band.offset[i], band.offset[i + 1]
        width, lo = end - start, band.lo[i]
        best = np.full(width, np.inf)
        if i == 0:
            best[0] = 0.0  # lo[0] == 0: the empty alignment
        for k, (a, b) in enumerate(costs.kinds):
            if i < a:
                continue
            candidate = band.row_values(total, i - a, lo - b, width) + costs.bead[k][start:end]
            better = candidate < best
            best[better] = candidate[better]
            choice[start:end][better] = k
        # dp[i, j] = min(best[j], dp[i, j-1] + skip[j]) unrolled as a running minimum over prefix sums.
        prefix = skip_cum[lo : lo + width]
        shifted = best - prefix
        running = np.minimum.accumulate(shifted)
        total[start:end] = running + prefix
        from_left[start:end] = shifted > running
    beads: list[Bead] = []
    near_edge = False
    i, j = n, m
    while i > 0 or j > 0:
        near_edge |= bool((band.lo[i] > 0 and j - band.lo[i] < margin) or (band.hi[i] < m and band.hi[i] - j < margin))
        cell = band.cell(i, j)
        if from_left[cell]:
            beads.append(Bead(src=(), tgt=(j - 1,), cost=float(costs.skip_target[j]), score=0.0))
            j -= 1
            continue
        k = choice[cell]
        a, b = costs.kinds[k]
        score = 0.0 if b == 0 else min(1.0, math.exp(-costs.match[k][cell]))
        beads.append(Bead(tuple(range(i - a, i)), tuple(range(j - b, j)), float(costs.bead[k][cell]), score))
        i, j = i - a, j - b
    beads.reverse()
    return beads, near_edge


def align_sentences(src: Sequence[str], tgt: Sequence[str], config: AlignConfig | None = None) -> list[Bead]:
    """Align two sentence lists; the beads cover every sentence of both sides once, in order."""
    config = config or AlignConfig()
    src, tgt = list(src), list(tgt)
    n, m = len(src), len(tgt)
    src_len, tgt_len = weighted_lengths(src), weighted_lengths(tgt)
    ids: dict[str, int] = {}
    src_anchors = _document_anchors(src, ids, config.min_token_chars)
    tgt_anchors = _document_anchors(tgt, ids, config.min_token_chars)
    half_width = max(config.band_min, math.ceil(config.band_fraction * max(n, m)))
    while True:
        band = _Band.around(src_len, tgt_len, half_width)
        costs = _bead_costs(band, src_len, tgt_len, src_anchors, tgt_anchors, config)
        beads, near_edge = _best_path(band, costs, n, m, margin=max(1, half_width // 4))
        full = bool((band.lo == 0).all() and (band.hi == m).all())
        if not near_edge or full:
            return beads
        if half_width >= config.band_max:
            logger.warning("alignment path at the edge of the widest band (%d); it may be suboptimal", half_width)
            return beads
        half_width = min(2 * half_width, config.band_max)
        logger.debug("alignment path near the band edge; widening to %d", half_width)
