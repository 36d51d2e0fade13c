"""Temperature-based language sampling (XLM): p_i = n_i / sum(n), q_i ∝ p_i^alpha.

alpha = 1 samples in proportion to the data, alpha = 0 uniformly over the languages that have any;
in between, small languages are upsampled (XLM used 0.5, XLM-R 0.3). One module computes these
numbers for the vocabulary sample, the manifest's sampling table and the training loader, so they
can never disagree. Row-level draws come from a seeded xxhash of the row's id, never from a global
random generator, so a row is in or out of a sample the same way on every worker and every run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np
import xxhash


class Share(NamedTuple):
    """A language's share of the data (p) and its sampling probability (q)."""

    p: float
    q: float


def sampling_probabilities(counts: Mapping[str, float], alpha: float) -> dict[str, Share]:
    """(p, q) per key; keys with a zero count get p = q = 0. ValueError when there is nothing to sample."""
    if not alpha >= 0 or not math.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
    bad = {key: n for key, n in counts.items() if not (n >= 0 and math.isfinite(n))}
    if bad:
        raise ValueError(f"counts must be finite and >= 0; got {bad}")
    total = math.fsum(counts.values())
    if total <= 0:
        raise ValueError(f"no data to sample from: every count is zero ({dict(counts) or 'no keys'})")
    present = {key: n for key, n in counts.items() if n > 0}
    # q_i ∝ n_i^alpha (the total's power cancels), computed in log space so huge counts cannot overflow.
    logs = {key: alpha * math.log(n) for key, n in present.items()}
    top = max(logs.values())
    weights = {key: math.exp(value - top) for key, value in logs.items()}
    norm = math.fsum(weights.values())
    return {key: Share(n / total, weights[key] / norm if n > 0 else 0.0) for key, n in counts.items()}


def sampling_rates(counts: Mapping[str, float], alpha: float, num_samples: int) -> dict[str, float]:
    """The share of each key's rows to draw so that it contributes about q * num_samples rows.

    A key with fewer rows than its quota contributes all of them (rate 1): rows are never repeated.
    """
    shares = sampling_probabilities(counts, alpha)
    return {key: min(1.0, share.q * num_samples / counts[key]) if counts[key] else 0.0 for key, share in shares.items()}


def uniform_draws(ids: Iterable[int], seed: int, salt: bytes = b"") -> np.ndarray:
    """A number in [0, 1) per 64-bit id, from xxh3 seeded with `seed`: the same on every machine and run.

    `salt` gives independent draws for the same ids (the two sides of a sentence pair).
    """
    digests = [xxhash.xxh3_64_intdigest(salt + int(i).to_bytes(8, "little"), seed=seed) for i in ids]
    return unit_interval(np.array(digests, dtype=np.uint64))


def unit_interval(hashes: np.ndarray) -> np.ndarray:
    """64-bit hashes as numbers in [0, 1), from their top 53 bits (exact in float64, never 1.0)."""
    return (hashes >> np.uint64(11)).astype(np.float64) * 2.0**-53
