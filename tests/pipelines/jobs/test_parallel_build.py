"""Parallel text through the corpus build: bitext files and document pairs, with every record accounted for."""

import gzip
import json

import pyarrow as pa
import pytest

from xlmforge.core.config import ConfigError
from xlmforge.pipelines.common.ledger import KEPT
from xlmforge.pipelines.corpus.config import CorpusConfig
from xlmforge.pipelines.jobs.corpus import build_corpus

GERMAN = [
    "Der Hund schläft im Garten unter dem großen Baum.",
    "Heute regnet es in Berlin den ganzen Tag.",
    "Wir treffen uns am Montag um neun Uhr im Büro.",
    "Das neue Museum wurde im Jahr 2019 eröffnet.",
]
ENGLISH = [
    "The dog is sleeping in the garden under the big tree.",
    "Today it is raining in Berlin all day long.",
    "We will meet on Monday at nine in the office.",
    "The new museum was opened in the year 2019.",
]


def rows(directory):
    return [
        r
        for f in sorted(directory.rglob("*.arrow"))
        for r in pa.ipc.open_file(pa.memory_map(str(f))).read_all().to_pylist()
    ]


def build(tmp_path, sources, **config):
    result = build_corpus(CorpusConfig(sources=sources, **config), str(tmp_path / "out"))
    result.ledger.check()
    return result, rows(tmp_path / "out" / "bitext"), rows(tmp_path / "out" / "rejects")


def test_tsv_moses_and_jsonl_bitext(tmp_path):
    (tmp_path / "pairs.tsv").write_text(
        "id\tde\ten\n" + "".join(f"{i}\t{d}\t{e}\n" for i, (d, e) in enumerate(zip(GERMAN, ENGLISH)))
    )
    (tmp_path / "news.de").write_text("\n".join(GERMAN) + "\n")
    (tmp_path / "news.en").write_text("\n".join(ENGLISH) + "\n")
    jsonl = "".join(json.dumps({"de": d, "en": e}) + "\n" for d, e in zip(GERMAN[:2], ENGLISH[:2]))
    (tmp_path / "pairs.jsonl.gz").write_bytes(gzip.compress(jsonl.encode()))
    sources = [
        {"name": "tsv", "kind": "bitext", "path": str(tmp_path / "pairs.tsv"), "languages": ["deu", "eng"],
         "src_column": "de", "tgt_column": "en"},
        {"name": "moses", "kind": "bitext", "format": "moses", "path": str(tmp_path / "news.de"),
         "tgt_path": str(tmp_path / "news.en"), "languages": ["deu", "eng"]},
        {"name": "json", "kind": "bitext", "format": "jsonl", "path": str(tmp_path / "pairs.jsonl.gz"),
         "languages": ["deu", "eng"], "src_field": "de", "tgt_field": "en"},
    ]  # fmt: skip
    result, pairs, rejects = build(tmp_path, sources)
    assert result.ledger.total("bitext/read", "in") == 10
    # The same four pairs come from three sources: one copy of each is kept, the rest are duplicates.
    assert sorted((p["src_text"], p["tgt_text"]) for p in pairs) == sorted(zip(GERMAN, ENGLISH))
    assert [r["reason"] for r in rejects] == ["duplicate_pair"] * 6
    assert all(p["src_lang"] == "deu" and p["tgt_lang"] == "eng" and p["bead"] is None for p in pairs)
    assert result.pairs_by_lang == {"deu-eng": 4}


def test_document_pairs_are_aligned_not_zipped(tmp_path):
    (tmp_path / "de").mkdir()
    (tmp_path / "en").mkdir()
    # The German document merges two sentences into one line and lacks the third English sentence.
    (tmp_path / "de" / "a.txt").write_text(" ".join(GERMAN[:2]) + "\n" + GERMAN[3] + "\n")
    (tmp_path / "en" / "a.txt").write_text("\n".join(ENGLISH) + "\n")
    sources = [{"name": "docs", "kind": "docpairs", "path": str(tmp_path / "de" / "*.txt"),
                "tgt_path": str(tmp_path / "en" / "*.txt"), "languages": ["deu", "eng"]}]  # fmt: skip
    result, pairs, rejects = build(tmp_path, sources)
    aligned = {(p["src_text"], p["tgt_text"]) for p in pairs}
    assert (GERMAN[0], ENGLISH[0]) in aligned and (GERMAN[3], ENGLISH[3]) in aligned
    assert [(r["reason"], r["text"]) for r in rejects] == [("unaligned_target", ENGLISH[2])]
    assert result.ledger.total("docpairs/align", "in") == 7 and result.ledger.passed_on("docpairs/align") == 3
    assert {p["bead"] for p in pairs} == {"1-1"}


def test_moses_files_with_different_line_counts_are_an_error_naming_both(tmp_path):
    (tmp_path / "c.de").write_text("\n".join(GERMAN) + "\n")
    (tmp_path / "c.en").write_text("\n".join(ENGLISH[:3]) + "\n")
    sources = [{"name": "m", "kind": "bitext", "format": "moses", "path": str(tmp_path / "c.de"),
                "tgt_path": str(tmp_path / "c.en"), "languages": ["deu", "eng"]}]  # fmt: skip
    with pytest.raises(ValueError, match=r"c\.de has 4 lines but .*c\.en has 3"):
        build_corpus(CorpusConfig(sources=sources), str(tmp_path / "out"))


def test_hostile_parallel_input_is_counted(tmp_path):
    (tmp_path / "de").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "de" / "empty.txt").write_text("\n\n")
    (tmp_path / "en" / "empty.txt").write_text("\n".join(ENGLISH) + "\n")
    (tmp_path / "de" / "long.txt").write_text("wort " * 20_000)  # a single 100 kB line without punctuation
    (tmp_path / "en" / "long.txt").write_text("word " * 20_000)
    (tmp_path / "bad.tsv").write_text(
        f"{GERMAN[0]}\t{ENGLISH[0]}\n"
        f"{ENGLISH[1]}\t{ENGLISH[1]}\n"  # wrong language and identical sides
        f"{GERMAN[2]}\t{ENGLISH[2]} {ENGLISH[1]} {ENGLISH[0]} {ENGLISH[3]}\n"  # wildly unbalanced
        f"only one column\n"
    )
    sources = [
        {"name": "docs", "kind": "docpairs", "path": str(tmp_path / "de" / "*.txt"),
         "tgt_path": str(tmp_path / "en" / "*.txt"), "languages": ["deu", "eng"]},
        {"name": "tsv", "kind": "bitext", "path": str(tmp_path / "bad.tsv"), "languages": ["deu", "eng"]},
    ]  # fmt: skip
    result, pairs, rejects = build(tmp_path, sources)
    reasons = {r["reason"] for r in rejects}
    assert {"empty_document", "missing_column", "length_ratio"} <= reasons
    assert {"lid_mismatch", "identical_sides"} & reasons
    assert (GERMAN[0], ENGLISH[0]) in {(p["src_text"], p["tgt_text"]) for p in pairs}
    written = result.ledger.total("pairs/write", KEPT)
    assert written == len(pairs) and len(rejects) == result.num_rejects


def test_unmatched_document_is_named(tmp_path):
    (tmp_path / "de").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "de" / "only-here.txt").write_text(GERMAN[0])
    sources = [{"name": "docs", "kind": "docpairs", "path": str(tmp_path / "de" / "*.txt"),
                "tgt_path": str(tmp_path / "en" / "*"), "languages": ["deu", "eng"]}]  # fmt: skip
    with pytest.raises((ValueError, ConfigError), match="only-here.txt|no file matches"):
        build_corpus(CorpusConfig(sources=sources), str(tmp_path / "out"))


def test_pair_keys_ignore_case_punctuation_and_spacing():
    from xlmforge.pipelines.bitext.pairs import pair_keys, source_keys
    from xlmforge.pipelines.common.comparison import key_hashes

    def batch(pairs):
        src, tgt = zip(*pairs)
        return pa.RecordBatch.from_pydict({"src_text": list(src), "tgt_text": list(tgt)})

    keys = pair_keys(batch([("Hello, world!", "Hallo Welt."), ("hello world", "HALLO,  welt"), ("Hello", "Hallo"),
                            ("Hallo", "Hello"), ("ab", "c"), ("a", "bc")]))  # fmt: skip
    assert keys[0] == keys[1] and keys[2] != keys[3] and keys[4] != keys[5]
    assert int(keys[0]) == 0x20DA1915029C29F6  # stable across processes and runs
    assert source_keys(batch([("Hello, world!", "x")]))[0] == key_hashes(["hello world"])[0]


def test_a_target_glob_matching_several_languages_is_refused(tmp_path):
    for suffix in ("de", "en", "fr"):
        (tmp_path / f"corpus.{suffix}").write_text("Eine Zeile.\n")
    sources = [{"name": "m", "kind": "bitext", "format": "moses", "path": str(tmp_path / "corpus.de"),
                "tgt_path": str(tmp_path / "corpus.*"), "languages": ["deu", "eng"]}]  # fmt: skip
    with pytest.raises(ValueError, match=r"corpus\.en and .*corpus\.fr would both be the counterpart"):
        build_corpus(CorpusConfig(sources=sources), str(tmp_path / "out"))


def test_a_damaged_moses_file_is_named_before_anything_runs(tmp_path):
    (tmp_path / "c.de.gz").write_bytes(gzip.compress("\n".join(GERMAN).encode())[:-8])
    (tmp_path / "c.en.gz").write_bytes(gzip.compress("\n".join(ENGLISH).encode()))
    sources = [{"name": "m", "kind": "bitext", "format": "moses", "path": str(tmp_path / "c.de.gz"),
                "tgt_path": str(tmp_path / "c.en.gz"), "languages": ["deu", "eng"]}]  # fmt: skip
    with pytest.raises(ValueError, match=r"c\.de\.gz is damaged"):
        build_corpus(CorpusConfig(sources=sources), str(tmp_path / "out"))
