"""Splits by a stable hash of the normalized text, and decontamination against held-out keys."""

import numpy as np
import pytest

from xlmforge.pipelines.shards.config import SplitsConfig
from xlmforge.pipelines.shards.splits import TEST, TRAIN, VALID, SplitPlan, contains, decontaminated, split_keys


def test_the_split_key_ignores_case_punctuation_and_spacing_and_depends_on_the_seed():
    keys = split_keys(["Hello, World!", "hello world", "Hello world?", "Goodbye world"], seed=0)
    assert keys[0] == keys[1] == keys[2] != keys[3]
    assert split_keys(["hello world"], seed=1)[0] != keys[1]


def test_fractions_make_the_held_out_splits_about_the_configured_sizes():
    plan = SplitPlan.from_counts({"eng": 20_000, "swa": 2_000}, SplitsConfig(valid_size=500, test_size=300))
    assert plan.fractions == {"eng": (0.025, 0.015), "swa": (0.25, 0.15)}
    splits = plan.assign("eng", split_keys([f"sentence number {i}" for i in range(20_000)], seed=0))
    assert abs((splits == VALID).sum() - 500) < 4 * np.sqrt(500) and abs((splits == TEST).sum() - 300) < 4 * np.sqrt(
        300
    )


def test_per_language_sizes_override_the_defaults():
    config = SplitsConfig(
        valid_size=10, test_size=10, sizes={"swa": {"valid": 1, "test": 0}, "eng-swa": {"valid": 2, "test": 2}}
    )
    plan = SplitPlan.from_counts({"eng": 100, "swa": 10, "eng-swa": 40}, config)
    assert plan.fractions == {"eng": (0.1, 0.1), "swa": (0.1, 0.0), "eng-swa": (0.05, 0.05)}


def test_the_same_text_gets_the_same_position_in_every_language():
    # Same fractions: same split. Larger held-out fractions only add texts (nested intervals).
    plan = SplitPlan({"eng": (0.1, 0.1), "deu": (0.1, 0.1), "fra": (0.3, 0.1)}, seed=0)
    keys = split_keys([f"Paris {i}" for i in range(2000)], seed=0)
    assert np.array_equal(plan.assign("eng", keys), plan.assign("deu", keys))
    assert ((plan.assign("eng", keys) == VALID) <= (plan.assign("fra", keys) == VALID)).all()


def test_held_out_sizes_that_leave_nothing_to_train_on_are_a_clear_error():
    with pytest.raises(ValueError, match=r"'yor' has 150 records.*\(100 \+ 100\).*splits.sizes.yor"):
        SplitPlan.from_counts({"eng": 10_000, "yor": 150}, SplitsConfig(valid_size=100, test_size=100))


def test_training_records_with_any_held_out_side_are_decontaminated():
    heldout = np.array([5, 9, 20], dtype=np.uint64)
    splits = np.array([TRAIN, TRAIN, TRAIN, VALID, TRAIN], dtype=np.int8)
    src = np.array([5, 1, 2, 9, 3], dtype=np.uint64)
    tgt = np.array([7, 20, 4, 8, 6], dtype=np.uint64)
    assert decontaminated(splits, [src, tgt], heldout).tolist() == [True, True, False, False, False]
    assert contains(np.zeros(0, np.uint64), src).tolist() == [False] * 5
    assert contains(heldout, np.array([21, 0, 20], dtype=np.uint64)).tolist() == [False, False, True]
