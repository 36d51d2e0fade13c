"""MinHash signatures of segments and their LSH band keys, vectorised with numpy.

Shingles are script-aware: word n-grams for scripts written with spaces, character n-grams for
CJK, Thai and other unspaced scripts (where a "word" would be a whole clause). Texts are casefolded
and punctuation, symbols and spaces ignored, so shingles compare words, not formatting.
"""

from __future__ import annotations

import functools

import numpy as np
import xxhash

from pipelines.scripts import DIGIT, LETTER, MARK, SCRIPT_INDEX, UNSPACED_SCRIPTS, classes_of, code_points, scripts_of

_MIX = np.uint64(0x9E3779B97F4A7C15)
_LOW_32 = np.uint64(0xFFFFFFFF)
_ODD_32 = np.uint32(0x9E3779B1)
_EMPTY = np.iinfo(np.uint32).max

# Lookup tables: is a character class part of a word; is a script unspaced.
_IN_WORD = np.zeros(8, dtype=bool)
_IN_WORD[[LETTER, MARK, DIGIT]] = True
_IS_UNSPACED = np.zeros(len(SCRIPT_INDEX), dtype=bool)
_IS_UNSPACED[[SCRIPT_INDEX[s] for s in UNSPACED_SCRIPTS]] = True


def _mix(h: np.ndarray) -> np.ndarray:
    h = h * _MIX
    return h ^ (h >> np.uint64(31))


def _ngram_sets(units: np.ndarray, owners: np.ndarray, num_texts: int, n: int) -> list[np.ndarray]:
    """Per text, the unique hashes of the n-grams of its units (one shingle of all units if fewer than n).

    `units` are 64-bit unit hashes of all texts concatenated; `owners` says which text each unit is from.
    """
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
    h, shingle_owners = h[keep], shingle_owners[keep]
    return np.split(h, np.cumsum(np.bincount(shingle_owners, minlength=num_texts))[:-1])


def _word_hashes(cps: np.ndarray, in_word: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 64-bit hash of every word (maximal run of word characters), and the text each word is in.

    A word's hash is the wrapping sum of its characters mixed with their position in the word:
    order-sensitive, and computed for all words at once without a Python loop.
    """
    starts = in_word & ~np.r_[False, in_word[:-1]]
    chars = np.flatnonzero(in_word)
    word_of_char = np.cumsum(starts)[chars] - 1
    word_starts = np.flatnonzero(starts)
    position = chars - word_starts[word_of_char]
    char_hashes = _mix(cps[chars].astype(np.uint64) * _MIX + position.astype(np.uint64))
    first_char = np.r_[0, np.flatnonzero(np.diff(word_of_char)) + 1]
    return _mix(np.add.reduceat(char_hashes, first_char)), owners[word_starts]


def shingle_sets(texts: list[str], word_ngram: int, char_ngram: int) -> list[np.ndarray]:
    """The set of shingle hashes of each text (unique uint64 arrays, possibly empty), for a whole batch."""
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
    unspaced = unspaced_letters > 0.5 * np.maximum(letters, 1)

    sets: list[np.ndarray] = [np.empty(0, np.uint64)] * len(texts)
    char_units = in_word & unspaced[owners]
    if char_units.any():
        char_sets = _ngram_sets(cps[char_units].astype(np.uint64) * _MIX, owners[char_units], len(texts), char_ngram)
        sets = [char_sets[i] if unspaced[i] else s for i, s in enumerate(sets)]
    word_chars = in_word & ~unspaced[owners]
    if word_chars.any():
        units, unit_owners = _word_hashes(cps, word_chars, owners)
        word_sets = _ngram_sets(units, unit_owners, len(texts), word_ngram)
        sets = [word_sets[i] if not unspaced[i] else s for i, s in enumerate(sets)]
    return sets


def shingles(text: str, word_ngram: int, char_ngram: int) -> np.ndarray:
    """The set of shingle hashes of one text."""
    return shingle_sets([text], word_ngram, char_ngram)[0]


class MinHasher:
    """MinHash signatures by one permutation hashing with densification.

    Each shingle is hashed once; the hash picks one of `num_perm` bins and the signature keeps each
    bin's minimum (Li, Owen & Zhang 2012). A bin no shingle fell into borrows the value of the next
    non-empty bin to its right, offset by the distance (rotation densification, Shrivastava & Li
    2014), so that two sets agree on a bin with probability equal to their Jaccard similarity. This
    costs O(shingles + bins) per segment instead of O(shingles x permutations).
    """

    def __init__(self, num_perm: int, seed: int):
        self.num_perm = num_perm
        self.seed = np.uint64(xxhash.xxh3_64_intdigest(str(seed).encode()))

    def signatures(self, shingle_sets: list[np.ndarray]) -> np.ndarray:
        """(len(shingle_sets), num_perm) uint32 signatures; all-max rows for empty sets."""
        num_sets, num_bins = len(shingle_sets), self.num_perm
        sizes = np.fromiter((len(s) for s in shingle_sets), dtype=np.int64, count=num_sets)
        signatures = np.full((num_sets, num_bins), _EMPTY, dtype=np.uint32)
        if not sizes.any():
            return signatures
        hashed = _mix(np.concatenate(shingle_sets) ^ self.seed)
        bins = ((hashed >> np.uint64(32)) % np.uint64(num_bins)).astype(np.int64)
        np.minimum.at(signatures, (np.repeat(np.arange(num_sets), sizes), bins), (hashed & _LOW_32).astype(np.uint32))

        empty = signatures == _EMPTY
        # For every bin, the next non-empty bin at or after it, going round: a reversed running minimum
        # over the row written out twice.
        columns = np.arange(2 * num_bins)
        filled = np.concatenate([~empty, ~empty], axis=1)
        donor = np.minimum.accumulate(np.where(filled, columns, 4 * num_bins)[:, ::-1], axis=1)[:, ::-1][:, :num_bins]
        borrowed = signatures[np.arange(num_sets)[:, None], donor % num_bins]
        distance = (donor - columns[:num_bins]).astype(np.uint32)
        signatures = np.where(empty, borrowed + distance * _ODD_32, signatures)
        signatures[sizes == 0] = _EMPTY
        return signatures


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
def band_layout(threshold: float, num_perm: int, min_recall: float = 0.95) -> tuple[int, int]:
    """(bands, rows per band) with the fewest chance collisions that still catch a pair of Jaccard
    similarity `threshold` with probability `min_recall`: P(collide) = 1 - (1 - s^rows)^bands.
    """
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= min_recall:
            return bands, rows
    return num_perm, 1
