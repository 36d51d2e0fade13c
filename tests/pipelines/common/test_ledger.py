import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlmforge.pipelines.common.ledger import DROPPED, IN, KEPT, OUT, Ledger, LedgerError, chain, merge_counts

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
    ledger = Ledger(chain(*STAGES), counts)
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
        Ledger(chain(*STAGES), counts).check()


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
    Ledger(chain("lid", "filters"), counts).check()


def test_unknown_stage_is_an_error():
    with pytest.raises(LedgerError, match="unknown stages"):
        Ledger(chain("read"), {("other", "deu", IN): 1})


def test_flows_merge_and_change_units():
    """Two chains feed one stage; alignment takes in sentences and passes on pairs."""
    flow = {"bitext/read": [], "docpairs/align": [], "pairs/filters": ["bitext/read", "docpairs/align"]}
    counts = {
        ("bitext/read", "deu-eng", IN): 5, ("bitext/read", "deu-eng", KEPT): 4,
        ("bitext/read", "deu-eng", DROPPED + "x"): 1,
        ("docpairs/align", "deu", IN): 6, ("docpairs/align", "deu", KEPT): 5,
        ("docpairs/align", "deu", DROPPED + "y"): 1,
        ("docpairs/align", "eng", IN): 4, ("docpairs/align", "eng", KEPT): 4, ("docpairs/align", "deu-eng", OUT): 3,
        ("pairs/filters", "deu-eng", IN): 7, ("pairs/filters", "deu-eng", KEPT): 7,
    }  # fmt: skip
    ledger = Ledger(flow, counts)
    ledger.check()
    assert ledger.passed_on("docpairs/align") == 3 and Ledger.from_json(ledger.to_json()).rows() == ledger.rows()
    counts[("pairs/filters", "deu-eng", IN)] = 8
    counts[("pairs/filters", "deu-eng", KEPT)] = 8
    with pytest.raises(LedgerError, match="passed on 7 records but 'pairs/filters' took in 8"):
        Ledger(flow, counts).check()
