"""Reading labelled files: TSV and JSONL give the same examples; every problem names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.labelled_tasks import object_rows, pair_rows, write_jsonl, write_tsv
from xlmforge.training.finetune import load_pretrained
from xlmforge.training.labelled import read_labelled


def test_tsv_and_jsonl_give_the_same_examples(tmp_path):
    rows = pair_rows("fr", range(4))
    tsv = read_labelled(write_tsv(tmp_path / "a.tsv", rows))
    jsonl = read_labelled(write_jsonl(tmp_path / "a.jsonl", rows))
    assert tsv.has_pairs and [e.line for e in tsv.examples] == [2, 3, 4, 5]  # the header is line 1
    assert [e.line for e in jsonl.examples] == [1, 2, 3, 4]
    fields = [(e.text, e.text_pair, e.label, e.lang) for e in tsv.examples]
    assert fields == [(e.text, e.text_pair, e.label, e.lang) for e in jsonl.examples]
    assert tsv.examples[0].side_languages() == ("en", "fr") and tsv.labels == {"yes", "no"}


def test_without_a_lang_column_the_training_language_is_used(tmp_path):
    rows = [{"text": "the cat eats.", "label": 1}, {"text": "a dog.", "label": 0}]
    path = write_jsonl(tmp_path / "train.jsonl", rows)
    file = read_labelled(path, default_lang="en")
    assert [(e.lang, e.label) for e in file.examples] == [("en", "1"), ("en", "0")]  # integer labels become strings
    with pytest.raises(ValueError, match=r"train.jsonl:1: missing column lang \(required in evaluation files"):
        read_labelled(path)


@pytest.mark.parametrize(("content", "message"), [
    ('{"text": "a", "label": "x", "lang": "en"}\n{"text": "b", "lang": "en"}\n', r"f.jsonl:2: missing column label"),
    ('{"text": "a", "label": "x", "lang": "en"}\n\n{"text": " ", "label": "x", "lang": "en"}\n', "f.jsonl:3: empty"),
    ('{"text": "a", "label": "x", "lang": "en"}\n{"text": "a", "label": "x"\n', r"f.jsonl:2: not valid JSON"),
    ('["a", "x"]\n', r"f.jsonl:1: expected a JSON object, found list"),
    ('{"text": "a", "label": "", "lang": "en"}\n', r"f.jsonl:1: label must be a non-empty string"),
    ('{"text": "a", "label": "x", "lang": "English"}\n', r"f.jsonl:1: lang must be a language code 'xx'"),
    ('{"text": "a", "label": "x", "lang": "en-fr"}\n', r"f.jsonl:1: lang 'en-fr' names two languages"),
    ("", r"f.jsonl: no examples"),
])  # fmt: skip
def test_a_bad_jsonl_line_is_named(tmp_path, content, message):
    (tmp_path / "f.jsonl").write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_labelled(tmp_path / "f.jsonl")


def test_a_bad_tsv_row_is_named(tmp_path):
    path = tmp_path / "f.tsv"
    path.write_text("text\tlabel\tlang\nthe cat.\tx\ten\nthe dog\tx\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"f.tsv:3: 2 tab-separated fields, the header has 3 \(text, label, lang\)"):
        read_labelled(path)
    path.write_bytes(b"text\tlabel\tlang\n\xff\tx\ten\n")
    with pytest.raises(ValueError, match=r"f.tsv: not UTF-8 text"):
        read_labelled(path)
    with pytest.raises(ValueError, match=r"f.csv: expected a .tsv or .jsonl file"):
        read_labelled(Path(write_tsv(tmp_path / "f.csv", object_rows("en", range(2)))))
    with pytest.raises(FileNotFoundError, match=r"gone.tsv: labelled data file not found"):
        read_labelled(tmp_path / "gone.tsv")


def test_what_is_not_a_pretraining_checkpoint_is_refused(tmp_path):
    path = tmp_path / "step-00000001.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"step-00000001.pt: not a readable checkpoint"):
        load_pretrained(str(path))
    with pytest.raises(FileNotFoundError, match=r"gone.pt: checkpoint not found"):
        load_pretrained(str(tmp_path / "gone.pt"))
