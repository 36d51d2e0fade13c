"""MinHash signatures of segments and their LSH band keys, vectorised with numpy.

Shingles are script-aware: word n-grams for scripts written with spaces, character n-grams for
CJK, Thai and other unspaced scripts (where a "word" would be a whole clause). Texts are casefolded
and punctuation, symbols and spaces ignored, so shingles compare words, not formatting.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pyarrow as pa
import xxhash

from xlmforge.core.scripts import (
    DIGIT,
    LETTER,
    MARK,
    SCRIPT_INDEX,
    UNSPACED_SCRIPTS,
    classes_of,
    code_points,
    scripts_of,
)

_MIX = np.uint64(0x9E3779B97F4A7C15)
_LOW_32 = np.uint64(0xFFFFFFFF)
_EMPTY = np.iinfo(np.uint32).max

# Lookup tables: is a character class part of a word; is a script unspaced.
_IN_WORD = np.zeros(8, dtype=bool)
_IN_WORD[[LETTER, MARK, DIGIT]] = True
_IS_UNSPACED = np.zeros(len(SCRIPT_INDEX), dtype=bool)
_IS_UNSPACED[[SCRIPT_INDEX[s] for s in UNSPACED_SCRIPTS]] = True


def _mix(h: np.ndarray) -> np.ndarray:
    h = h * _MIX
    return h ^ (h >> np.uint64(31))


@dataclasses.dataclass(frozen=True)
class ShingleSets:
    """The shingle sets of a batch of texts, flat: set i is `hashes[offsets[i]:offsets[i + 1]]`
    (unique, sorted). Flat arrays pickle and concatenate cheaply, unlike one array per text."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, one more than there are sets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.hashes[self.offsets[i] : self.offsets[i + 1]]

    def owners(self) -> np.ndarray:
        """The index of the set each hash belongs to."""
        return np.repeat(np.arange(len(self)), self.sizes)

    def take(self, indices: np.ndarray) -> ShingleSets:
        """The sets at `indices`, in that order."""
        sizes = self.sizes[indices]
        offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)
        positions = np.repeat(self.offsets[indices] - offsets[:-1], sizes) + np.arange(offsets[-1])
        return ShingleSets(self.hashes[positions], offsets)

    @staticmethod
    def from_owners(hashes: np.ndarray, owners: np.ndarray, num_sets: int) -> ShingleSets:
        """Sets from hashes sorted by the (ascending) index of the set they belong to."""
        offsets = np.r_[0, np.cumsum(np.bincount(owners, minlength=num_sets))].astype(np.int64)
        return ShingleSets(hashes, offsets)

    def to_arrow(self) -> pa.ListArray:
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), pa.array(self.hashes, pa.uint64()))

    @staticmethod
    def from_arrow(column: pa.ListArray) -> ShingleSets:
        # Offsets are relative to the column's values, which a sliced column does not start at.
        offsets = column.offsets.to_numpy().astype(np.int64)
        return ShingleSets(column.values.to_numpy()[offsets[0] : offsets[-1]], offsets - offsets[0])

    @staticmethod
    def concat(parts: list[ShingleSets]) -> ShingleSets:
        if not parts:
            return ShingleSets(np.zeros(0, np.uint64), np.zeros(1, np.int64))
        sizes = np.concatenate([p.sizes for p in parts])
        return ShingleSets(np.concatenate([p.hashes for p in parts]), np.r_[0, np.cumsum(sizes)].astype(np.int64))


def _ngram_hashes(units: np.ndarray, owners: np.ndarray, num_texts: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, owners) of the unique n-grams of each text's units (one shingle of all of them when
    there are fewer than n), sorted by owner; `units` are the unit hashes of all texts concatenated."""
    counts = np.bincount(owners, minlength=num_texts)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    position = np.arange(len(units)) - starts[owners]  # index of the unit inside its text
    span = np.minimum(n, counts[owners])  # shorter texts make one shingle of all their units
    first = position + span <= counts[owners]  # an n-gram (or the short text) starts here
    h = np.zeros(len(units), dtype=np.uint64)
    for offset in range(n):
        index = np.minimum(np.arange(len(units)) + offset, len(units) - 1)
        h = np.where(offset < span, _mix(h ^ units[index]), h)
    h, shingle_owners = h[first], owners[first]
    order = np.lexsort((h, shingle_owners))
    h, shingle_owners = h[order], shingle_owners[order]
    keep = np.ones(len(h), dtype=bool)
    keep[1:] = (h[1:] != h[:-1]) | (shingle_owners[1:] != shingle_owners[:-1])
    return h[keep], shingle_owners[keep]


def _word_hashes(cps: np.ndarray, in_word: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 64-bit hash of every word (maximal run of word characters), and the text each word is in.

    A word's hash is the wrapping sum of its characters mixed with their position in the word:
    order-sensitive, and computed for all words at once without a Python loop.
    """
    chars = np.flatnonzero(in_word)
    if not len(chars):
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    starts = in_word & ~np.r_[False, in_word[:-1]]
    word_of_char = np.cumsum(starts)[chars] - 1
    word_starts = np.flatnonzero(starts)
    position = chars - word_starts[word_of_char]
    char_hashes = _mix(cps[chars].astype(np.uint64) * _MIX + position.astype(np.uint64))
    first_char = np.r_[0, np.flatnonzero(np.diff(word_of_char)) + 1]
    return _mix(np.add.reduceat(char_hashes, first_char)), owners[word_starts]


def shingle_sets(texts: list[str], word_ngram: int, char_ngram: int) -> ShingleSets:
    """The set of shingle hashes of each text (possibly empty), for a whole batch at once."""
    folded = [t.casefold() for t in texts]
    lengths = np.fromiter((len(t) for t in folded), dtype=np.int64, count=len(folded))
    cps = code_points("\n".join(folded))
    owners = np.repeat(np.arange(len(texts)), lengths + 1)[: len(cps)]  # each text owns its separator
    in_word = _IN_WORD[classes_of(cps)]
    in_word[np.cumsum(lengths + 1)[:-1] - 1] = False  # the separators
    letters = np.bincount(owners[in_word], minlength=len(texts))
    unspaced_letters = np.bincount(
        owners[in_word], weights=_IS_UNSPACED[scripts_of(cps[in_word])], minlength=len(texts)
    )
    unspaced = (unspaced_letters > 0.5 * np.maximum(letters, 1))[owners]
    char_units = in_word & unspaced
    words, word_owners = _word_hashes(cps, in_word & ~unspaced, owners)
    parts = [
        _ngram_hashes(cps[char_units].astype(np.uint64) * _MIX, owners[char_units], len(texts), char_ngram),
        _ngram_hashes(words, word_owners, len(texts), word_ngram),
    ]
    # A text is either unspaced or not, so merging the two by owner keeps each set sorted.
    hashes, set_owners = (np.concatenate(values) for values in zip(*parts))
    order = np.argsort(set_owners, kind="stable")
    return ShingleSets.from_owners(hashes[order], set_owners[order], len(texts))


def shingles(text: str, word_ngram: int, char_ngram: int) -> np.ndarray:
    """The set of shingle hashes of one text."""
    return shingle_sets([text], word_ngram, char_ngram)[0]


class MinHasher:
    """MinHash signatures by one permutation hashing with optimal densification.

    Each shingle is hashed once; the hash picks one of `num_perm` bins and the signature keeps each
    bin's minimum (Li, Owen & Zhang 2012). A bin no shingle fell into copies the first non-empty bin
    of its own random sequence of bins, the same sequence for every set (optimal densification,
    Shrivastava 2017): two sets then agree on a bin with probability equal to their Jaccard
    similarity, and the bins of a band borrow from different donors. Rotation densification (each
    empty bin borrowing from its right-hand neighbour) has the same per-bin probability, but a short
    text fills few bins and whole bands then copy one shingle: texts sharing one common word pair
    collided (1.2 million candidate pairs on 460k unique sentences, against 47k). This costs
    O(shingles + bins) per segment instead of O(shingles x permutations).
    """

    def __init__(self, num_perm: int, seed: int):
        self.num_perm = num_perm
        self.seed = np.uint64(xxhash.xxh3_64_intdigest(str(seed).encode()))
        rng = np.random.default_rng(int(self.seed))
        # probes[t, j]: the bin that bin j tries t-th; itself first, then the others in a random order.
        others = [np.delete(np.arange(num_perm), j) for j in range(num_perm)]
        self.probes = np.stack([np.r_[j, rng.permutation(others[j])] for j in range(num_perm)], axis=1)
        # _first_tried[b, j] orders the bins b by when bin j tries them, and names b: rank * bins + b.
        ranks = np.empty(self.probes.shape, np.uint32)
        ranks[self.probes, np.arange(num_perm)] = np.arange(num_perm)[:, None]
        self._first_tried = ranks * np.uint32(num_perm) + np.arange(num_perm, dtype=np.uint32)[:, None]

    def signatures(self, sets: ShingleSets) -> np.ndarray:
        """(len(sets), num_perm) uint32 signatures; all-max rows for empty sets."""
        num_sets, num_bins = len(sets), self.num_perm
        signatures = np.full((num_sets, num_bins), _EMPTY, dtype=np.uint32)
        if not len(sets.hashes):
            return signatures
        hashed = _mix(sets.hashes ^ self.seed)
        bins = ((hashed >> np.uint64(32)) % np.uint64(num_bins)).astype(np.int64)
        np.minimum.at(signatures, (sets.owners(), bins), (hashed & _LOW_32).astype(np.uint32))
        return signatures[np.arange(num_sets)[:, None], self._donors(signatures != _EMPTY)]

    def _donors(self, filled: np.ndarray) -> np.ndarray:
        """For every bin of every row, the first filled bin of the bin's sequence: itself when filled
        (any bin in an empty row)."""
        num_bins = self.num_perm
        donors = np.broadcast_to(np.arange(num_bins), filled.shape).copy()
        num_filled = filled.sum(axis=1)
        # Probing costs ~bins/filled tries per empty bin, ranking every filled bin costs `filled` per
        # bin: rows with few filled bins are ranked, the others probed. Both give the same donor.
        few = max(2, num_bins // 4)
        rows, bins = np.nonzero(~filled & (num_filled >= few)[:, None])
        for attempt in range(1, num_bins):
            if not len(rows):
                break
            tried = self.probes[attempt, bins]
            hit = filled[rows, tried]
            donors[rows[hit], bins[hit]] = tried[hit]
            rows, bins = rows[~hit], bins[~hit]
        sparse = np.flatnonzero((num_filled > 0) & (num_filled < few))
        if len(sparse):
            owner, filled_bin = np.nonzero(filled[sparse])
            starts = np.r_[0, np.cumsum(num_filled[sparse])[:-1]]
            # Each sparse row's filled bins, padded with its first one (a repeat changes no minimum).
            candidates = np.repeat(filled_bin[starts][:, None], few - 1, axis=1)
            candidates[owner, np.arange(len(owner)) - starts[owner]] = filled_bin
            donors[sparse] = self._first_tried[candidates].min(axis=1) % num_bins
        return donors


def jaccard_pairs(left: ShingleSets, right: ShingleSets) -> np.ndarray:
    """The Jaccard similarity of `left[i]` and `right[i]` for every i, without a Python loop."""
    pairs = np.concatenate([left.owners(), right.owners()])
    hashes = np.concatenate([left.hashes, right.hashes])
    order = np.lexsort((hashes, pairs))
    pairs, hashes = pairs[order], hashes[order]
    # Each set holds a hash once, so a hash seen twice in a row for the same pair is in both sets.
    shared = (pairs[1:] == pairs[:-1]) & (hashes[1:] == hashes[:-1])
    common = np.bincount(pairs[1:][shared], minlength=len(left)).astype(float)
    union = left.sizes + right.sizes - common
    return np.divide(common, union, out=np.ones(len(left)), where=union > 0)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The Jaccard similarity of two shingle sets (unique arrays)."""
    one = lambda hashes: ShingleSets(np.sort(hashes), np.array([0, len(hashes)], np.int64))  # noqa: E731
    return float(jaccard_pairs(one(a), one(b))[0])


def band_keys(signatures: np.ndarray, num_bands: int, rows_per_band: int) -> np.ndarray:
    """(n, num_bands) uint64 keys; two segments collide in band k when their rows of band k are equal."""
    keys = np.empty((signatures.shape[0], num_bands), dtype=np.uint64)
    for band in range(num_bands):
        h = np.full(signatures.shape[0], band + 1, dtype=np.uint64) * _MIX
        for column in range(band * rows_per_band, (band + 1) * rows_per_band):
            h = _mix(h ^ signatures[:, column].astype(np.uint64))
        keys[:, band] = h
    return keys


@functools.cache
def band_layout(threshold: float, num_perm: int, min_recall: float = 0.99) -> tuple[int, int]:
    """(bands, rows per band) with the fewest chance collisions that still catch a pair of Jaccard
    similarity `threshold` with probability `min_recall`: P(collide) = 1 - (1 - s^rows)^bands.
    With optimally densified bins that formula holds (nearly independent bins); 0.99 rather than 0.95
    took the near-copy recall of tests/pipelines/jobs/test_planted_duplicates.py from 0.983 to 0.996.
    """
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= min_recall:
            return bands, rows
    return num_perm, 1
