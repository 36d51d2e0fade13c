"""Comparison keys: a text up to case, punctuation and spacing, for finding duplicates.

Used by the exact deduplication of segments and of sentence pairs, by the identical-sides filter and
by the split assignment, so that they all agree on when two texts are "the same".
"""

from __future__ import annotations

import numpy as np
import xxhash

from xlmforge.core.scripts import CONTROL, PUNCT, SPACE, classes_of, code_points

_IGNORED_CLASSES = np.array([PUNCT, SPACE, CONTROL], dtype=np.uint8)


def _flat_keys(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The comparison keys of all texts as one array of code points, and where each key starts and ends."""
    folded = [t.casefold() for t in texts]
    cps = code_points("".join(folded))
    lengths = np.fromiter((len(t) for t in folded), dtype=np.int64, count=len(folded))
    keep = ~np.isin(classes_of(cps), _IGNORED_CLASSES)
    kept_before = np.r_[0, np.cumsum(keep)]  # kept code points before each position
    ends = np.cumsum(lengths)
    return cps[keep], kept_before[np.r_[0, ends]]


def comparison_keys(texts: list[str]) -> list[np.ndarray]:
    """Each text casefolded, without punctuation and spaces, as code points: equal keys mean duplicates."""
    flat, offsets = _flat_keys(texts)
    return [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def comparison_key(text: str) -> str:
    """The comparison key of one text, as a string (for tests and inspection)."""
    return comparison_keys([text])[0].tobytes().decode("utf-32-le")


def key_hashes(texts: list[str], seed: int = 0) -> np.ndarray:
    """A 64-bit hash (xxh3 with `seed`) of each text's comparison key."""
    flat, offsets = _flat_keys(texts)
    data, bounds = flat.tobytes(), (offsets * flat.itemsize).tolist()
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(data[a:b], seed=seed) for a, b in zip(bounds[:-1], bounds[1:])),
        np.uint64,
        len(texts),
    )


def hash_keys(keys: list[np.ndarray]) -> np.ndarray:
    """A stable 64-bit hash of each comparison key."""
    return np.fromiter((xxhash.xxh3_64_intdigest(k.tobytes()) for k in keys), np.uint64, len(keys))
