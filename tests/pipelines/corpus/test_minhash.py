import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xlmforge.pipelines.corpus.minhash import (
    MinHasher,
    ShingleSets,
    band_keys,
    band_layout,
    jaccard,
    jaccard_pairs,
    shingle_sets,
    shingles,
)


def test_word_shingles_ignore_case_punctuation_and_spacing():
    a = shingles("The cat sat on the mat.", 2, 3)
    assert np.array_equal(a, shingles("the  CAT sat, on the mat", 2, 3))
    assert len(a) == 5  # word bigrams


def test_unspaced_scripts_use_character_ngrams():
    assert len(shingles("汤姆和他的朋友们在公园", 2, 3)) == 9  # 11 characters -> 9 trigrams
    assert len(shingles("...", 2, 3)) == 0


def test_indic_words_keep_their_vowel_signs():
    assert not np.array_equal(shingles("किताब पढ़ो अभी", 2, 3), shingles("कताब पढ़ अभी", 2, 3))


def test_signature_agreement_estimates_jaccard():
    hasher = MinHasher(256, seed=3)
    texts = [" ".join(f"w{i}" for i in range(100)), " ".join(f"w{i}" for i in range(20, 120))]
    sets = shingle_sets(texts, 1, 3)
    sa, sb = hasher.signatures(sets)
    assert abs((sa == sb).mean() - jaccard(sets[0], sets[1])) < 0.08
    assert jaccard(sets[0], sets[1]) == 80 / 120


def test_flat_shingle_sets_match_one_by_one():
    texts = ["The cat sat on the mat.", "", "汤姆和他的朋友们在公园", "a", "किताब पढ़ो अभी"]
    sets = shingle_sets(texts, 2, 3)
    assert [len(s) for s in (shingles(t, 2, 3) for t in texts)] == sets.sizes.tolist()
    picked = sets.take(np.array([4, 0, 0]))
    assert np.array_equal(picked[0], sets[4]) and np.array_equal(picked[2], sets[0])
    assert jaccard_pairs(picked, sets.take(np.array([4, 0, 2]))).tolist() == [1.0, 1.0, 0.0]


@settings(deadline=None)
@given(st.floats(0.5, 0.95), st.sampled_from([64, 128, 256]))
def test_band_layout_catches_pairs_at_the_threshold(threshold, num_perm):
    bands, rows = band_layout(threshold, num_perm)
    assert bands * rows <= num_perm
    assert 1 - (1 - threshold**rows) ** bands >= 0.99


def test_equal_signatures_collide_in_every_band():
    hasher = MinHasher(128, seed=1)
    sets = shingle_sets(["a b c d e", "a b c d e", "x y z w v"], 2, 3)
    keys = band_keys(hasher.signatures(sets), 16, 8)
    assert (keys[0] == keys[1]).all() and not (keys[0] == keys[2]).any()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**64 - 1), unique=True), max_size=8), st.integers(0, 8), st.integers(0, 8))
def test_shingle_sets_survive_arrow_even_sliced(sets, start, length):
    flat = ShingleSets.concat([ShingleSets(np.array(s, np.uint64), np.array([0, len(s)], np.int64)) for s in sets])
    column = flat.to_arrow().slice(start, length)
    back = ShingleSets.from_arrow(column)
    assert [back[i].tolist() for i in range(len(back))] == sets[start : start + length]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([16, 64, 128]))
def test_empty_bins_borrow_from_the_first_filled_bin_of_their_sequence(seed, num_bins):
    hasher = MinHasher(num_bins, seed=seed)
    rng = np.random.default_rng(seed)
    # From one filled bin to all of them: both ways of finding donors (ranking few, probing many).
    filled = rng.random((64, num_bins)) < np.linspace(0.01, 1.0, 64)[:, None]
    filled[:, 0] |= ~filled.any(axis=1)
    donors = hasher._donors(filled)
    for row in range(64):
        for b in range(num_bins):
            tried = [hasher.probes[t, b] for t in range(num_bins)]
            expected = b if filled[row, b] else next(d for d in tried if filled[row, d])
            assert donors[row, b] == expected


def test_short_texts_sharing_one_shingle_rarely_collide():
    # Rotation densification fills a short text's empty bins from its few neighbours, so a whole band
    # copies one shingle and texts sharing a single word pair collide: optimal densification does not.
    hasher = MinHasher(64, seed=1)
    bands, rows = band_layout(0.8, 64)
    rng = np.random.default_rng(2)
    shared = rng.integers(0, 2**63, 500, dtype=np.uint64)
    left = [np.sort(np.r_[shared[i], rng.integers(0, 2**63, 3, dtype=np.uint64)]) for i in range(500)]
    right = [np.sort(np.r_[shared[i], rng.integers(0, 2**63, 3, dtype=np.uint64)]) for i in range(500)]
    flat = lambda sets: ShingleSets(np.concatenate(sets), np.arange(0, 4 * len(sets) + 1, 4))  # noqa: E731
    collide = (band_keys(hasher.signatures(flat(left)), bands, rows)
               == band_keys(hasher.signatures(flat(right)), bands, rows)).any(axis=1)  # fmt: skip
    assert collide.mean() < 0.02  # Jaccard 1/7: 1 - (1 - (1/7)^6)^10 ~ 1e-4
