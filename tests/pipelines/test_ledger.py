import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.ledger import DROPPED, IN, KEPT, Ledger, LedgerError, merge_counts

STAGES = ["read", "dedup", "filters"]
LANGS = ["deu", "fra", "und"]


@st.composite
def balanced_counts(draw):
    """Counts of a three-stage chain where every stage passes on what it keeps (languages fixed)."""
    counts = {}
    flowing = {lang: draw(st.integers(0, 1000)) for lang in LANGS}
    for stage in STAGES:
        for lang in LANGS:
            counts[(stage, lang, IN)] = flowing[lang]
            dropped = draw(st.integers(0, flowing[lang]))
            first = draw(st.integers(0, dropped))
            counts[(stage, lang, DROPPED + "a")] = first
            counts[(stage, lang, DROPPED + "b")] = dropped - first
            flowing[lang] -= dropped
            counts[(stage, lang, KEPT)] = flowing[lang]
    return counts


@given(balanced_counts())
def test_balanced_counts_pass_and_round_trip(counts):
    ledger = Ledger(STAGES, counts)
    ledger.check()
    again = Ledger.from_json(ledger.to_json())
    assert again.rows() == ledger.rows() and ledger.to_json()["balanced"]


@given(
    balanced_counts(),
    st.sampled_from(STAGES),
    st.sampled_from(LANGS),
    st.sampled_from([IN, KEPT, DROPPED + "a"]),
    st.sampled_from([-1, 1]),
)
def test_any_lost_or_invented_record_is_detected(counts, stage, lang, outcome, delta):
    counts = dict(counts)
    if counts[(stage, lang, outcome)] + delta < 0:
        delta = 1
    counts[(stage, lang, outcome)] += delta
    with pytest.raises(LedgerError, match="does not balance"):
        Ledger(STAGES, counts).check()


@given(
    st.lists(
        st.dictionaries(
            st.tuples(st.sampled_from(STAGES), st.sampled_from(LANGS), st.sampled_from([IN, KEPT])), st.integers(0, 50)
        ),
        max_size=5,
    )
)
def test_merging_part_counts_is_order_independent(parts):
    assert merge_counts(parts) == merge_counts(reversed(parts))


def test_language_changes_balance_in_total_across_stages():
    counts = {
        ("lid", "und", IN): 3,
        ("lid", "und", KEPT): 3,
        ("filters", "deu", IN): 2,
        ("filters", "fra", IN): 1,
        ("filters", "deu", KEPT): 2,
        ("filters", "fra", KEPT): 1,
    }
    Ledger(["lid", "filters"], counts).check()


def test_unknown_stage_is_an_error():
    with pytest.raises(LedgerError, match="unknown stages"):
        Ledger(["read"], {("other", "deu", IN): 1})
