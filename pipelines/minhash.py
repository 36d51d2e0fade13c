"""MinHash signatures of segments and their LSH band keys, vectorised with numpy.

Shingles are script-aware: word n-grams for scripts written with spaces, character n-grams for
CJK, Thai and other unspaced scripts (where a "word" would be a whole clause). Texts are casefolded
and punctuation, symbols and spaces ignored, so shingles compare words, not formatting.
"""

from __future__ import annotations

import functools

import numpy as np
import xxhash

from pipelines.scripts import LETTER, MARK, DIGIT, UNSPACED_SCRIPTS, SCRIPT_INDEX, classes_of, code_points, scripts_of

_MERSENNE_61 = np.uint64((1 << 61) - 1)
_MASK_32 = np.uint64(0xFFFFFFFF)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_WORD_CLASSES = np.array([LETTER, MARK, DIGIT], dtype=np.uint8)
_UNSPACED = np.array(sorted(SCRIPT_INDEX[s] for s in UNSPACED_SCRIPTS), dtype=np.uint8)
_SPACE = np.uint32(0x20)


def _mix(h: np.ndarray) -> np.ndarray:
    h = h * _MIX
    return h ^ (h >> np.uint64(31))


def _ngram_hashes(units: np.ndarray, n: int) -> np.ndarray:
    """Unique hashes of the n-grams of a sequence of 64-bit unit hashes (one shingle if shorter)."""
    n = min(n, len(units))
    h = np.zeros(len(units) - n + 1, dtype=np.uint64)
    for i in range(n):
        h = _mix(h ^ units[i : len(units) - n + 1 + i])
    return np.unique(h)


def shingles(text: str, word_ngram: int, char_ngram: int) -> np.ndarray:
    """The set of shingle hashes of a segment (uint64, unique, possibly empty)."""
    cps = code_points(text.casefold())
    in_word = np.isin(classes_of(cps), _WORD_CLASSES)
    if not in_word.any():
        return np.empty(0, dtype=np.uint64)
    letters = cps[in_word]
    if np.isin(scripts_of(letters), _UNSPACED).mean() > 0.5:
        return _ngram_hashes(letters.astype(np.uint64) * _MIX, char_ngram)
    words = np.where(in_word, cps, _SPACE).tobytes().decode("utf-32-le").split()
    units = np.fromiter((xxhash.xxh3_64_intdigest(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    return _ngram_hashes(units, word_ngram)


class MinHasher:
    """Signatures of `num_perm` universal hash permutations, (a*x + b) mod (2^61 - 1), on 32-bit shingles."""

    def __init__(self, num_perm: int, seed: int):
        rng = np.random.default_rng(seed)
        # a, b < 2^32 and x < 2^32 keep a*x + b inside 64 bits: no silent wrap-around.
        self.a = rng.integers(1, 2**32, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64)
        self.num_perm = num_perm

    def signatures(self, shingle_sets: list[np.ndarray]) -> np.ndarray:
        """(len(shingle_sets), num_perm) uint32 signatures; all-max rows for empty sets."""
        signatures = np.full((len(shingle_sets), self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        sizes = np.fromiter((len(s) for s in shingle_sets), dtype=np.int64, count=len(shingle_sets))
        rows = np.flatnonzero(sizes)
        chunk = max(1, 200_000 // max(1, int(sizes.mean()) if len(sizes) else 1))  # bounds the (shingles x perms) matrix
        for start in range(0, len(rows), chunk):
            selected = rows[start : start + chunk]
            flat = np.concatenate([shingle_sets[i] for i in selected])
            x = (flat ^ (flat >> np.uint64(32))) & _MASK_32
            permuted = ((x[:, None] * self.a + self.b) % _MERSENNE_61) & _MASK_32
            starts = np.r_[0, np.cumsum(sizes[selected])[:-1]]
            signatures[selected] = np.minimum.reduceat(permuted, starts, axis=0).astype(np.uint32)
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
