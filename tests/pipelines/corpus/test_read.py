import gzip
import json
import os
import re

import apache_beam as beam
import pytest
import zstandard
from apache_beam.testing.util import assert_that, equal_to

from tests.pipelines.parts_fixtures import rejects_of, rows_of
from xlmforge.pipelines.corpus.config import CorpusConfig, ReadConfig
from xlmforge.pipelines.corpus.inputs import plan_inputs
from xlmforge.pipelines.corpus.read import ReadSegments


def read(tmp_path, layout, make_pipeline, files: dict[str, bytes], pattern="*", read_config=None, **source):
    """Write `files`, read them as one source, and return (segments, rejects) in file order."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, content in files.items():
        (data / name).write_bytes(content)
    config = CorpusConfig(
        sources=[{"name": "src", "path": str(data / pattern), "language": "deu", **source}],
        read=read_config or ReadConfig(),
    )
    ranges = plan_inputs(config).text
    with make_pipeline() as p:
        parts = p | beam.Create(ranges) | ReadSegments(config.read, layout)
        assert_that(parts | beam.Map(lambda part: part.part_id), equal_to([r.part_id for r in ranges]))
    segments = [row for r in ranges for row in rows_of(layout.part("read", r.part_id))]
    rejects = [row for r in ranges for row in rejects_of(layout, "read", r.part_id)]
    return segments, rejects


def test_documents_positions_bom_and_crlf(tmp_path, layout, make_pipeline):
    content = "\ufeffFirst line.\r\nSecond line.\r\n\r\n  \nNew document.\n".encode()
    segments, rejects = read(tmp_path, layout, make_pipeline, {"a.txt": content})
    assert [s["text"] for s in segments] == ["First line.", "Second line.", "New document."]
    assert [s["position"] for s in segments] == [0, 1, 0]
    assert segments[0]["doc_id"] == segments[1]["doc_id"] == "a.txt@0" != segments[2]["doc_id"]
    assert not rejects and len({s["segment_id"] for s in segments}) == 3


def test_invalid_utf8_is_rejected_with_file_and_offset(tmp_path, layout, make_pipeline):
    content = b"good line\nbad \xff\xfe line\nanother good line\n"
    segments, rejects = read(tmp_path, layout, make_pipeline, {"a.txt": content})
    assert [s["text"] for s in segments] == ["good line", "another good line"]
    (reject,) = rejects
    assert reject["reason"] == "bad_utf8" and reject["offset"] == 10
    assert reject["file"].endswith("a.txt") and reject["text"] == "bad \\xff\\xfe line"


def test_nul_bytes_and_empty_files(tmp_path, layout, make_pipeline):
    segments, rejects = read(tmp_path, layout, make_pipeline, {"a.txt": b"nul\x00inside\n", "empty.txt": b""})
    assert [s["text"] for s in segments] == ["nul\x00inside"] and not rejects


def test_ten_megabyte_line_is_rejected_in_bounded_memory(tmp_path, layout, make_pipeline):
    content = b"before\n" + b"x" * (10 * 2**20) + b"\nafter\n"
    segments, rejects = read(tmp_path, layout, make_pipeline, {"a.txt": content})
    assert [s["text"] for s in segments] == ["before", "after"]
    (reject,) = rejects
    assert reject["reason"] == "line_too_long" and reject["offset"] == 7
    assert "10485760 bytes" in reject["detail"] and len(reject["text"]) <= 200


def test_gzip_and_zstd(tmp_path, layout, make_pipeline):
    text = b"eins\nzwei\n\ndrei\n"
    files = {"a.txt.gz": gzip.compress(text), "b.txt.zst": zstandard.ZstdCompressor().compress(text)}
    segments, rejects = read(tmp_path, layout, make_pipeline, files)
    assert [s["text"] for s in segments] == ["eins", "zwei", "drei"] * 2 and not rejects


def test_truncated_gzip_keeps_what_was_readable(tmp_path, layout, make_pipeline):
    text = "".join(f"Zeile {i} mit etwas Text.\n" for i in range(5000)).encode()
    truncated = gzip.compress(text)[:-2000]
    segments, rejects = read(tmp_path, layout, make_pipeline, {"a.txt.gz": truncated})
    assert 0 < len(segments) < 5000 and segments[0]["text"] == "Zeile 0 mit etwas Text."
    (reject,) = rejects
    assert reject["reason"] == "truncated_archive" and "a.txt.gz" in reject["file"]


def test_decompression_bomb_is_stopped(tmp_path, layout, make_pipeline):
    bomb = gzip.compress(b"boom\n" * (40 * 2**20 // 5))  # 40 MB of text in ~40 kB
    segments, rejects = read(
        tmp_path, layout, make_pipeline, {"bomb.txt.gz": bomb}, read_config=ReadConfig(max_decompression_ratio=20)
    )
    (reject,) = rejects
    assert reject["reason"] == "decompression_limit" and len(segments) < 8 * 2**20 // 5


def test_binary_file_is_one_reject(tmp_path, layout, make_pipeline):
    files = {"doc.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 40, "ok.txt": b"Hallo Welt\n"}
    segments, rejects = read(tmp_path, layout, make_pipeline, files)
    assert [s["text"] for s in segments] == ["Hallo Welt"]
    assert [(r["reason"], os.path.basename(r["file"])) for r in rejects] == [("not_text", "doc.pdf")]


def test_jsonl_documents(tmp_path, layout, make_pipeline):
    lines = [
        json.dumps({"id": "d1", "body": "Erster Satz.\nZweiter Satz."}),
        "{not json",
        json.dumps({"id": "d2"}),
        json.dumps({"body": "Ohne Kennung."}),
        json.dumps({"id": "d1", "body": "Dieselbe Kennung, ein anderes Dokument."}),  # ids repeat in crawls
        '{"id": "d3", "body": "kaputt \\ud800 hier"}',  # valid JSON, but a lone surrogate
        json.dumps({"id": "d4", "body": "  \n "}),
    ]
    offsets = [sum(len(line) + 1 for line in lines[:i]) for i in range(len(lines))]
    segments, rejects = read(
        tmp_path, layout, make_pipeline, {"a.jsonl": "\n".join(lines).encode()},
        format="jsonl", text_field="body", id_field="id",
    )  # fmt: skip
    assert [(s["doc_id"], s["position"], s["text"]) for s in segments] == [
        ("a.jsonl@0:d1", 0, "Erster Satz."),
        ("a.jsonl@0:d1", 1, "Zweiter Satz."),
        (f"a.jsonl@{offsets[3]}", 0, "Ohne Kennung."),
        (f"a.jsonl@{offsets[4]}:d1", 0, "Dieselbe Kennung, ein anderes Dokument."),
    ]
    assert len({s["segment_id"] for s in segments}) == 4
    assert [r["reason"] for r in rejects] == ["bad_json", "missing_field", "bad_unicode", "empty_document"]


def test_byte_ranges_read_every_line_exactly_once(tmp_path, layout, make_pipeline):
    lines = [f"line {i} " + "word " * (i % 17) for i in range(3000)]
    content = "\n".join(lines).encode()
    segments, _ = read(tmp_path, layout, make_pipeline, {"big.txt": content}, read_config=ReadConfig(part_bytes=4096))
    assert (
        len(
            plan_inputs(
                CorpusConfig(
                    sources=[{"name": "s", "path": str(tmp_path / "data" / "big.txt"), "language": "deu"}],
                    read=ReadConfig(part_bytes=4096),
                )
            )
        )
        > 10
    )
    assert [s["text"] for s in segments] == lines


def test_paths_that_match_nothing_are_named(tmp_path):
    for path in (str(tmp_path / "missing.txt"), str(tmp_path / "*.nothing")):
        with pytest.raises(ValueError, match=re.escape(f"{path}: no file matches this path")):
            plan_inputs(CorpusConfig(sources=[{"name": "s", "path": path, "language": "deu"}]))


def test_small_files_share_a_part_and_large_ones_are_split(tmp_path):
    for i in range(30):
        (tmp_path / f"small-{i:02d}.txt").write_text(f"Satz {i}\n")
    (tmp_path / "large.txt").write_text("ein langer Satz\n" * 1000)
    config = CorpusConfig(
        sources=[{"name": "s", "path": str(tmp_path / "*.txt"), "language": "deu"}], read=ReadConfig(part_bytes=4096)
    )
    inputs = plan_inputs(config).text
    # 16,000 bytes in four ranges, the last of which has room for the 30 small files (8 bytes each)
    assert [len(i.files) for i in inputs] == [1, 1, 1, 31]
    assert len({i.part_id for i in inputs}) == len(inputs)


def test_a_small_input_is_grouped_into_enough_parts_for_the_workers(tmp_path):
    for i in range(20):
        with open(tmp_path / f"f-{i:02d}.txt", "wb") as f:
            f.truncate(3 * 2**19)  # 1.5 MiB, sparse: planning reads sizes only
    source = {"name": "s", "path": str(tmp_path / "*.txt"), "language": "deu"}
    # 30 MiB in parts of 8 MiB would be four parts of five files; at least 16 parts means one file each
    grouped = [len(i.files) for i in plan_inputs(CorpusConfig(sources=[source])).text]
    assert grouped == [1] * 20
    by_size_alone = [len(i.files) for i in plan_inputs(CorpusConfig(sources=[source], read={"min_parts": 1})).text]
    assert by_size_alone == [5, 5, 5, 5]
    # ... and never into parts under 1 MiB: 20 files of 100 kB make two parts, not sixteen
    for path in tmp_path.iterdir():
        with open(path, "r+b") as f:
            f.truncate(100_000)
    assert [len(i.files) for i in plan_inputs(CorpusConfig(sources=[source])).text] == [10, 10]


def test_a_binary_file_split_into_ranges_leaks_nothing(tmp_path, layout, make_pipeline):
    content = b"\x00\x01\x02\x03 text\n" * 10_000  # 90 kB of control bytes with a word on every line
    segments, rejects = read(
        tmp_path, layout, make_pipeline, {"blob.bin": content}, read_config=ReadConfig(part_bytes=8192)
    )
    assert not segments and [r["reason"] for r in rejects] == ["not_text"]
