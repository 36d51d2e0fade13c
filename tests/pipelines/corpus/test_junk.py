import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlmforge.pipelines.corpus import junk
from xlmforge.pipelines.corpus.config import FilterConfig
from xlmforge.pipelines.corpus.filters import quality_verdicts

JUNK = [
    ("root:x:0:0:root:/root:/bin/bash", "config_or_log_line"),
    ("net.ipv4.ip_forward = 1", "config_or_log_line"),
    ("export JAVA_HOME=/usr/lib/jvm/default", "config_or_log_line"),
    ("$ sudo systemctl restart nginx", "config_or_log_line"),
    ("2024-03-01 12:00:01 ERROR [worker-3] Verbindung zum Server verloren", "config_or_log_line"),
    ("Mar  4 10:22:01 host sshd[2231]: Accepted publickey for anna", "config_or_log_line"),
    ("    at org.example.Main.run(Main.java:42)", "config_or_log_line"),
    ("def parse_line(self, text):", "code"),
    ('<div class="nav"><a href="/de">Startseite</a></div>', "code"),
    ("SELECT name, price FROM products WHERE id = 7;", "code"),
    ("#include <stdio.h>", "code"),
    ("| Name | Preis | Menge |", "key_value_or_table"),
    ("Startseite · Über uns · Kontakt · Impressum", "key_value_or_table"),
    ("Preis: 12,99 €", "key_value_or_table"),
    ("价格：100元", "key_value_or_table"),
    ("https://example.com/a/b?id=1 https://example.org/c", "bare_links"),
    (r"C:\Users\anna\Documents\bericht.docx", "bare_links"),
    ("3f786850e387550fdab836ed7e6dc881de23001b", "encoded_blob"),
    ("550e8400-e29b-41d4-a716-446655440000", "encoded_blob"),
]

PROSE = [
    ("Hinweis: Der Zugang ist heute geschlossen.", "deu"),
    ("Il a dit : « Nous reviendrons demain. »", "fra"),
    ("Visit https://example.com for the full programme of the festival.", "eng"),
    ("Ποιο βιβλίο είναι δικό σου: αυτό ή εκείνο;", "ell"),
    ("The deal is worth $ 5 billion (about 4.6 billion euros).", "eng"),
    ("La col·lecció del museu és oberta de 10:00 a 18:00.", "cat"),
    ("警察官は、英国夏時間の午前 2:30 前後に発生した射撃を説明した。", "jpn"),
    ("He had two options: stay or go; he chose the first.", "eng"),
]


@pytest.mark.parametrize(("text", "expected"), JUNK)
def test_junk_kinds_are_rejected_under_their_names(text, expected):
    reasons, _ = quality_verdicts([text], ["deu"], FilterConfig())
    assert reasons == [expected]


@pytest.mark.parametrize(("text", "lang"), PROSE)
def test_prose_with_colons_links_and_numbers_is_kept(text, lang):
    assert quality_verdicts([text], [lang], FilterConfig())[0] == [None]


_WORD = st.text(st.characters(categories=["L"]), min_size=1, max_size=12)


@given(st.lists(_WORD, min_size=1, max_size=30), st.sampled_from(["", ".", "!", "?", "。"]))
def test_words_and_a_sentence_end_are_never_junk(words, end):
    text = " ".join(words) + end
    assert junk.config_or_log_score(text) == 0
    assert junk.code_score(text) < FilterConfig().min_code_signals
    assert junk.key_value_or_table_score(text) == 0
    assert junk.link_share(text) <= FilterConfig().max_link_share
    assert junk.blob_share(text) <= FilterConfig().max_blob_share


def test_real_sentences_pass_the_junk_filters(shared_data):
    junk_names = {"config_or_log_line", "code", "key_value_or_table", "bare_links", "encoded_blob"}
    checked = rejected = 0
    for path in sorted((shared_data / "ntrex").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        reasons, _ = quality_verdicts(lines, [path.stem] * len(lines), FilterConfig())
        checked += len(lines)
        rejected += sum(reason in junk_names for reason in reasons)
    assert checked > 50_000
    assert rejected / checked < 0.001


# Pieces of every junk shape (and of the Unicode spaces, digits and letters the screens must treat as
# Python's regexes do), strung together at random: whole junk lines, so that a line can open with one.
_JUNK_PIECES = st.sampled_from(
    [text for text, _ in JUNK]
    + [text for text, _ in PROSE]
    + [
        " ", "\t", "\u00a0", "\u3000", ":", "：", ";", "{", "}", "(", ")", "[", "]", "<", ">", "=", "$", "#",
        "@", "/", "\\", ".", "-", "_", "|", "·", "•", "›", "+", "&", "!", "*", '"', "'", ",", "0", "7", "٣",
        "a", "Z", "ä", "я", "漢", "://", "www.", "---", "Jan ", "ERROR", 'File "', "Traceback (", "at ",
        "def ", "import ", "from ", "this,", "null)", "<?php", "export ", "set ", "a_b(", "aB(", "()", "<b>",
        "x.y", "ab.cd", "0123456789abcdef", "QWxhZGRpbjpvcGVuIHNlc2FtZQ", "https://example.com/a?b=1",
        " = 1", "Preis: 2,5 kg", "C:\\", "user@host:~$ ", "$ ls", ">>> ", "2024-03-01 12:00:01",
        "anna@web-1:~$ ls -la", "#!/bin/sh", "<?php echo $x;", "// todo", "[core]", "]) {", "a.b.c = 1",
        "log_level: debug",
    ]
)  # fmt: skip
_DETECTORS = (junk.CONFIG_OR_LOG, junk.CODE, junk.KEY_VALUE_OR_TABLE, junk.LINKS, junk.BLOB)


@settings(max_examples=1000)
@given(st.lists(_JUNK_PIECES, max_size=8).map("".join))
def test_screens_let_through_every_line_a_detector_scores(text):
    for detector in _DETECTORS:
        assert junk.scores([text, "Ein Satz."], detector)[0] == detector.score(text)
