import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlmforge.pipelines.corpus.config import FilterConfig
from xlmforge.pipelines.corpus.filters import FILTERS, _longest_runs, quality_verdicts

CASES = [
    ("Das ist ein ganz normaler Satz.", "deu", None),
    ("ok", "eng", "too_short"),
    ("x" * 3000, "eng", "too_long"),
    ("$$$ 123 456 789 !!! ###", "eng", "low_letter_ratio"),
    ("Page 12 - 14, 15/16 (2019): pages and more", "eng", "high_digit_punct_ratio"),
    ("Sooooooooooooooooooooooo good", "eng", "repeated_characters"),
    ("buy now buy now buy now buy now buy now", "eng", "repeated_words"),
    (
        " ".join("".join(c + "\u0300\u0301\u0302\u0303\u0304" for c in w) for w in ("zalgo", "text")),
        "eng",
        "combining_mark_flood",
    ),
    ("किताब पढ़ो अभी", "hin", None),
    ("Это русский текст без латиницы", "eng", "wrong_script"),
    ("Liverpool จะสู้กับ Napoli ในระดับกลุ่มที่ Champions League", "tha", None),
    ("NEEEEEEEEEEIN, noch eine", "deu", None),
    ("root:x:0:0:root:/root:/bin/bash", "deu", "config_or_log_line"),
    ("if (n == null) { return; }", "eng", "code"),
    ("Farbe: schwarz | Größe: XL | Gewicht: 2,5 kg", "deu", "key_value_or_table"),
    ("Kontakt: info@example.de, presse@example.de", "deu", "bare_links"),
    ("SGVsbG8gV29ybGQhIFRoaXMgaXMgYmFzZTY0IGVuY29kZWQ=", "eng", "encoded_blob"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), CASES)
def test_each_filter_is_named(text, lang, expected):
    reasons, details = quality_verdicts([text], [lang], FilterConfig())
    assert reasons == [expected]
    assert (details[0] is None) == (expected is None)


def test_every_filter_can_be_switched_off():
    bounds = FilterConfig().model_dump()
    off = FilterConfig(**{field: False if bounds[field] is True else None for _, field, _ in FILTERS})
    texts = [t for t, _, _ in CASES]
    reasons, _ = quality_verdicts(texts, [lang for _, lang, _ in CASES], off)
    assert reasons == [None] * len(texts)


def test_detail_says_what_was_measured():
    _, details = quality_verdicts(["ok"], ["eng"], FilterConfig())
    assert details == ["min_chars=3, measured 2"]


@given(st.lists(st.text(st.sampled_from("aab \u00a0\t"), max_size=12), max_size=6))
def test_runs_are_found_for_a_whole_batch_as_the_regex_finds_them(texts):
    expected = [re.search(r"(\S)\1{2,}", t) is not None for t in texts]
    assert _longest_runs(texts, 3).tolist() == expected
