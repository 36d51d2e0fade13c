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
    assert 1 - (1 - threshold**rows) ** bands >= 0.95


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
