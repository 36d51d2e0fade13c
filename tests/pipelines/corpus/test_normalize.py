import unicodedata

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from xlmforge.pipelines.corpus.config import NormalizeConfig
from xlmforge.pipelines.corpus.normalize import normalize_batch, normalize_text, strip_accents_lower
from xlmforge.schemas.records import SEGMENT_SCHEMA

DEFAULT = NormalizeConfig()
CONFIGS = [DEFAULT, NormalizeConfig(form="NFKC"), NormalizeConfig(lowercase_strip_accents=True)]


def test_controls_zero_width_and_spaces():
    assert normalize_text("  Hello\u200b  wor\u200dld\t\r\n", DEFAULT) == "Hello wor\u200dld"
    assert normalize_text("a\x00b\x07c\x7f", DEFAULT) == "a b c"
    assert normalize_text("\ufeffBOM first", DEFAULT) == "BOM first"
    assert normalize_text("non\u00a0breaking\u3000space", DEFAULT) == "non breaking space"
    assert normalize_text("\u200b\u200e", DEFAULT) == ""


def test_a_control_between_words_becomes_a_space():
    assert normalize_text("Mit\x00Nullbyte", DEFAULT) == "Mit Nullbyte"
    assert normalize_text("Seite\x0cZwei\x85drei\x1cvier", DEFAULT) == "Seite Zwei drei vier"
    assert normalize_text("\x00\x00leading and trailing\x07", DEFAULT) == "leading and trailing"


def test_terminal_escapes_are_removed_whole():
    assert normalize_text("Steuerzeichen\x1b[31m", DEFAULT) == "Steuerzeichen"
    assert normalize_text("\x1b[1;32mGrün\x1b[0m und \x1b[4mfett\x1b[m", DEFAULT) == "Grün und fett"
    assert normalize_text("Titel\x1b]0;xterm title\x07 danach", DEFAULT) == "Titel danach"
    assert normalize_text("Link \x1b]8;;https://example.com\x1b\\hier\x1b]8;;\x1b\\", DEFAULT) == "Link hier"
    assert normalize_text("cursor\x1b[2K\x1b[1Gweg \x1bcreset \x9b0mend", DEFAULT) == "cursorweg reset end"


WORDS = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=8)
CONTROLS = st.sampled_from([chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0E, 0x1F, 0x7F, 0x80, 0x85, 0x9F]])
CSI = st.builds("\x1b[{}{}".format, st.from_regex(r"[0-9;?]{0,6}", fullmatch=True), st.sampled_from("mKJHfABCDGsu"))
OSC = st.builds("\x1b]{}\x07".format, st.from_regex(r"[0-9];[ -~]{0,12}", fullmatch=True))
ESCAPES = st.lists(st.one_of(CSI, OSC), max_size=2).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, min_size=2, max_size=6), st.data())
def test_property_controls_separate_words_and_escapes_vanish(words, data):
    text = data.draw(ESCAPES) + words[0]
    for word in words[1:]:
        text += data.draw(ESCAPES) + data.draw(CONTROLS) + data.draw(ESCAPES) + word
    text += data.draw(ESCAPES)
    assert normalize_text(text, DEFAULT) == unicodedata.normalize("NFC", " ".join(words))


def test_joiners_are_kept():
    persian = "می\u200cخواهم"  # ZWNJ inside a Persian word
    assert normalize_text(persian, DEFAULT) == persian
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalize_text(family, DEFAULT) == family


def test_unicode_forms():
    assert normalize_text("e\u0301", DEFAULT) == "\u00e9"
    assert normalize_text("e\u200b\u0301", DEFAULT) == "\u00e9"  # recomposed after the removal
    assert normalize_text("\ufb01 \u2460", NormalizeConfig(form="NFKC")) == "fi 1"
    assert normalize_text("\ufb01", DEFAULT) == "\ufb01"


def test_xlm_lowercase_and_accent_stripping():
    assert strip_accents_lower("Éléphant Ärger") == "elephant arger"
    assert normalize_text("Ça VA", NormalizeConfig(lowercase_strip_accents=True)) == "ca va"
    assert normalize_text("한국어", NormalizeConfig(lowercase_strip_accents=True)) == "한국어"  # Hangul recomposed


def test_lookalikes_that_accent_stripping_makes_are_folded_too():
    # "Ѐ" has no Latin twin, but stripped it is Cyrillic "е", which has one.
    assert normalize_text("UЀ", NormalizeConfig(lowercase_strip_accents=True)) == "ue"
    assert normalize_text("tе\u0301st", DEFAULT) == "t\u00e9st"  # folded, then recomposed


def test_moses_punctuation():
    config = NormalizeConfig(moses_punctuation=True)
    assert normalize_text("«Bonjour» – dit-il…", config, "fr") == '"Bonjour" - dit-il...'


def test_batch_rejects_segments_left_empty():
    batch = pa.RecordBatch.from_pylist(
        [
            {"segment_id": i, "source": "s", "doc_id": "d", "position": i, "lang": "deu", "text": t}
            for i, t in enumerate(["  ok  ", "\u200b", "fine"])
        ],
        schema=SEGMENT_SCHEMA,
    )
    decision = normalize_batch(batch, DEFAULT)
    assert decision.batch.column("text").to_pylist() == ["ok", "", "fine"]
    assert decision.reasons == [None, "empty_after_normalization", None]


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(CONFIGS))
def test_normalization_is_idempotent_and_clean(text, config):
    once = normalize_text(text, config)
    assert normalize_text(once, config) == once
    assert once == once.strip() and "  " not in once
    assert unicodedata.is_normalized(config.form, once)
    for char in once:
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cs", "Zl", "Zp") and (category != "Cf" or char in "\u200c\u200d")
        assert not (category == "Zs" and char != " ")
